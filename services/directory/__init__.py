"""Directory service: who is who (Kommunen, people, AGs), logins, invitations and API tokens."""
