from services.runtime.lifecycle import main
from services.surveys.app import start

main("surveys", start)
