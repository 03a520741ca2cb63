"""`make run`'s whole local chain: the development .env (env_file) and the processes of Procfile.dev (services).

Imported by no production module (devtools); the processes are run by honcho from Procfile.dev.
"""
