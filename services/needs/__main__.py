from services.needs.app import start
from services.runtime.lifecycle import main

main("needs", start)
