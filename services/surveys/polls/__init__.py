"""The polls part of the surveys service: AG topics, polls, ballots, results."""
