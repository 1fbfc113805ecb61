"""Spotlights and Quick Wins: an AG's proposals to the Ressorts, tracked to the decision."""
