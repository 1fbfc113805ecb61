"""Surveys (Umfragen): questionnaires the ministry builds and Kommunen answer."""
