from services.notifications.app import start
from services.runtime.lifecycle import main

main("notifications", start)
