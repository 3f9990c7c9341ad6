# The seed's app/config/settings.py.
class BaseConfig():
    DB_CONNECTION_STRING = "BASE DB STRING"
    MSG = "Inside BASE CONFIG"
class DevConfig(BaseConfig):
    DB_CONNECTION_STRING = "DEV DB STRING"
    MSG = "Inside DEV CONFIG"
class ProductionConfig(BaseConfig):
    DB_CONNECTION_STRING = "PRODUCTION DB STRING"
    MSG = "Inside PRODUCTION CONFIG"
