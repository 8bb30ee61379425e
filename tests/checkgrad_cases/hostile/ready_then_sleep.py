"""Says READY and its process id (on stderr: what a model file prints never reaches stdout), then sleeps."""
import os
import time

print("READY", os.getpid(), flush=True)
time.sleep(3600)
