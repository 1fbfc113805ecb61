from services.surveys.app import start
from services.runtime.lifecycle import main

main("surveys", start)
