from services.meetings.app import start
from services.runtime.lifecycle import main

main("meetings", start)
