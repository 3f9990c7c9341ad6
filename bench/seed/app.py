# The seed's app/app.py, verbatim but for the missing closing quote of its f-string.
from flask import Flask
from datetime import datetime
import config
app = Flask(__name__)
@app.route('/')
def index():
    return f"""
MSG: {config.MSG}<br/>
DB STRING: {config.DB_CONNECTION_STRING}<br/>
Time: {datetime.now().isoformat()}"""
