"""gunicorn settings shared by every way Gerbang is served (Procfile's web: ``gunicorn -c config/gunicorn.py``).

Options given on the command line (bind, workers, access-logfile) override these.
"""

# The access log skips the anonymous whistle-blowing paths (issue 9): no address or browser of a reporter.
logger_class = "config.gunicorn_logging.AnonymousPathsLogger"
