"""Django's PostgreSQL backend, with two fixes to its connection pool (psycopg_pool).

After the server restarted: Django's pool checks each connection as it hands it out,
and after a failed check tries the next idle one, sleeping 0, 1, 2, 4... seconds between
tries. Once the server has restarted every idle connection is dead, and a query could
spend its whole wait for a connection on them and fail though the server is back. Here
the check is the backend's: the first dead connection drains the pool (psycopg_pool's
`drain()`: the idle connections are replaced, those in use are when they come back) and
the query waits for a new one. Set CONN_HEALTH_CHECKS off with it: the check is this one.

After a fork: a child process (a test's live server, a server that forks its workers
after loading the application) inherits the pool, its idle connections, whose sockets
its parent goes on using, and none of its threads. The child forgets the pool and makes
its own; the parent's are kept referenced, never closed: closing one would end the
parent's session on the server.
"""

import os

from django.db.backends.postgresql import base
from django.utils.asyncio import async_unsafe

_pools_of_the_parent: list[dict] = []


def _forget_the_parents_pools() -> None:
    _pools_of_the_parent.append(dict(base.DatabaseWrapper._connection_pools))
    base.DatabaseWrapper._connection_pools.clear()


os.register_at_fork(after_in_child=_forget_the_parents_pools)


class DatabaseWrapper(base.DatabaseWrapper):
    @async_unsafe
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        pool = self.pool
        if pool is None:
            return connection
        try:
            pool.check_connection(connection)
        except base.Database.Error:
            # The server went away since this connection was last used: so did the
            # other idle ones.
            pool.drain()
            pool.putconn(connection)
            connection = super().get_new_connection(conn_params)
        return connection
