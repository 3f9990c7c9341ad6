# The TechEmpower Framework Benchmarks' test types on the seed's stack: Flask under gunicorn (the seed's
# gunicorn_config.py: 2 workers x 4 threads) with psycopg2, Debian's PostgreSQL driver, doing the same
# queries as app.mjs. One pool per process of DB_POOL_MAX connections (10), as the Node contenders have.
import os
import random
from contextlib import contextmanager

from flask import Flask, jsonify, render_template, request
from psycopg2.extras import execute_values
from psycopg2.pool import ThreadedConnectionPool

WORLDS = 10000
EXTRA_FORTUNE = 'Additional fortune added at request time.'

app = Flask(__name__)
# minconn = maxconn: psycopg2's pool closes a returned connection whenever minconn are already idle, so a
# smaller minconn would open (and authenticate) a new connection for most requests under load.
POOL_SIZE = int(os.environ.get('DB_POOL_MAX', '10'))
pool = ThreadedConnectionPool(POOL_SIZE, POOL_SIZE, os.environ['DB_CONNECTION_STRING'])


@contextmanager
def cursor():
    connection = pool.getconn()
    try:
        with connection, connection.cursor() as cur:
            yield cur
    finally:
        pool.putconn(connection)


def query_count():
    """The test types' rule: an integer from 1 to 500; anything else is 1 or clamped."""
    try:
        count = int(request.args.get('queries', '1'))
    except ValueError:
        return 1
    return min(max(count, 1), 500)


def random_worlds(cur, count):
    worlds = []
    for _ in range(count):
        cur.execute('SELECT id, randomnumber FROM world WHERE id = %s', (random.randint(1, WORLDS),))
        world_id, number = cur.fetchone()
        worlds.append({'id': world_id, 'randomNumber': number})
    return worlds


@app.route('/json')
def json_test():
    return jsonify(message='Hello, World!')


@app.route('/plaintext')
def plaintext():
    return 'Hello, World!', 200, {'Content-Type': 'text/plain'}


@app.route('/db')
def single_query():
    with cursor() as cur:
        return jsonify(random_worlds(cur, 1)[0])


@app.route('/queries')
def queries():
    with cursor() as cur:
        return jsonify(random_worlds(cur, query_count()))


@app.route('/fortunes')
def fortunes():
    with cursor() as cur:
        cur.execute('SELECT id, message FROM fortune')
        rows = cur.fetchall()
    rows.append((0, EXTRA_FORTUNE))
    rows.sort(key=lambda row: row[1])
    return render_template('fortunes.html', fortunes=rows)


@app.route('/updates')
def updates():
    with cursor() as cur:
        worlds = random_worlds(cur, query_count())
        for world in worlds:
            world['randomNumber'] = random.randint(1, WORLDS)
        # One statement for the batch, rows in id order (concurrent batches lock them in the same order).
        execute_values(
            cur,
            'UPDATE world SET randomnumber = v.r FROM (VALUES %s) AS v(id, r) WHERE world.id = v.id',
            sorted((w['id'], w['randomNumber']) for w in worlds),
        )
    return jsonify(worlds)
