from services.directory.app import start
from services.runtime.lifecycle import main

main("directory", start)
