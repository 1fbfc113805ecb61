"""Running the platform: the local launcher (`python -m deploy.local`) and the development mailbox."""
