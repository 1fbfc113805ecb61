"""Services of the GDST participation platform."""
