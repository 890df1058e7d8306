/*
 * Applies order-service/migrations/NNN_*.sql and R_*.sql (see migrations.h).
 */
#include "config/migrations.h"

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/log.h"
#include "utils/pg.h"

/* An arbitrary constant naming "order-service migrations" among advisory locks. */
#define MIGRATION_LOCK "7401923001"

/* The version of a repeatable migration: after every numbered one. */
#define REPEATABLE INT_MAX

struct migration {
	int version;
	char *name;
};

static int by_version(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	if (x->version != y->version)
		return (x->version > y->version) - (x->version < y->version);
	return strcmp(x->name, y->name); /* repeatables in name order */
}

/* "001_orders.sql" -> 1, "R_catalogue.sql" -> REPEATABLE; -1 for anything
 * else. */
static int version_of(const char *name)
{
	size_t n = strlen(name);

	if (n < 7 || strcmp(name + n - 4, ".sql") != 0)
		return -1;
	if (strncmp(name, "R_", 2) == 0)
		return REPEATABLE;
	if (n < 9 || name[3] != '_' || strspn(name, "0123456789") != 3)
		return -1;
	return atoi(name);
}

static char *read_file(const char *path, char *err, size_t errsz)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL) {
		eda_errf(err, errsz, "cannot open %s", path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		eda_errf(err, errsz, "cannot read %s", path);
		goto out;
	}
	buf = eda_xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		eda_errf(err, errsz, "cannot read %s", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
out:
	fclose(f);
	return buf;
}

static int list_dir(const char *dir, struct migration **out, size_t *count, char *err, size_t errsz)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct migration *m = NULL;
	size_t n = 0;

	if (d == NULL) {
		eda_errf(err, errsz, "cannot open migrations directory %s", dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		int v;

		if (e->d_name[0] == '.' || strstr(e->d_name, ".sql") == NULL)
			continue;
		if ((v = version_of(e->d_name)) < 0) {
			eda_errf(err, errsz,
			         "migration %s: name must be NNN_<name>.sql or R_<name>.sql",
			         e->d_name);
			goto fail;
		}
		m = eda_xrealloc(m, (n + 1) * sizeof(*m));
		m[n].version = v;
		m[n].name = eda_xstrdup(e->d_name);
		n++;
	}
	closedir(d);
	if (n > 1) /* m is NULL when there are none */
		qsort(m, n, sizeof(*m), by_version);
	for (size_t i = 1; i < n; i++) {
		if (m[i].version == m[i - 1].version && m[i].version != REPEATABLE) {
			eda_errf(err, errsz, "migrations %s and %s share a number", m[i - 1].name,
			         m[i].name);
			*out = m;
			*count = n;
			return -1;
		}
	}
	*out = m;
	*count = n;
	return 0;
fail:
	closedir(d);
	*out = m;
	*count = n;
	return -1;
}

static int apply(PGconn *c, const char *dir, const struct migration *m, char *err, size_t errsz)
{
	char *path = eda_xasprintf("%s/%s", dir, m->name);
	char *sql = read_file(path, err, errsz);
	char version[16];
	const char *params[2] = {version, m->name};
	char inner[400];
	PGresult *r;
	int rc = -1;

	free(path);
	if (sql == NULL)
		return -1;
	snprintf(version, sizeof(version), "%d", m->version);
	if (os_pg_cmd(c, "BEGIN", err, errsz) != 0)
		goto out;
	/* A multi-statement script, here inside the open transaction. */
	if (os_pg_script(c, sql, inner, sizeof(inner)) != 0) {
		eda_errf(err, errsz, "migration %s: %s", m->name, inner);
		goto out;
	}
	if (m->version != REPEATABLE) {
		r = os_pg_exec(c,
		               "INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)",
		               2, params, err, errsz, NULL);
		if (r == NULL)
			goto out;
		PQclear(r);
	}
	if (os_pg_cmd(c, "COMMIT", err, errsz) != 0)
		goto out;
	if (m->version != REPEATABLE)
		eda_log(EDA_LOG_INFO, "migration applied", "migration", m->name, NULL);
	rc = 0;
out:
	os_pg_rollback(c);
	free(sql);
	return rc;
}

/* Keeps the caller's first error: a failed unlock ends with the session. */
static void unlock(PGconn *c)
{
	char ignored[256];

	(void)os_pg_cmd(c, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")", ignored,
	                sizeof(ignored));
}

int os_migrate(PGconn *c, const char *dir, char *err, size_t errsz)
{
	struct migration *m = NULL;
	size_t n = 0;
	int applied = 0;

	if (list_dir(dir, &m, &n, err, errsz) != 0) {
		applied = -1;
		goto out;
	}
	if (os_pg_cmd(c, "SELECT pg_advisory_lock(" MIGRATION_LOCK ")", err, errsz) != 0) {
		applied = -1;
		goto out;
	}
	/* IF NOT EXISTS answers with a NOTICE every start after the first. */
	if (os_pg_cmd(c, "SET client_min_messages = warning", err, errsz) != 0) {
		applied = -1;
		goto unlock;
	}
	if (os_pg_cmd(c,
	              "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, "
	              "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
	              err, errsz) != 0) {
		applied = -1;
		goto unlock;
	}
	for (size_t i = 0; i < n; i++) {
		char version[16];
		const char *p[1] = {version};
		PGresult *r;
		bool done;

		if (m[i].version == REPEATABLE) {
			/* Not counted: it runs at every start. */
			if (apply(c, dir, &m[i], err, errsz) != 0) {
				applied = -1;
				goto unlock;
			}
			continue;
		}
		snprintf(version, sizeof(version), "%d", m[i].version);
		r = os_pg_exec(c, "SELECT 1 FROM schema_migrations WHERE version = $1::int", 1, p,
		               err, errsz, NULL);
		if (r == NULL) {
			applied = -1;
			goto unlock;
		}
		done = PQntuples(r) > 0;
		PQclear(r);
		if (done)
			continue;
		if (apply(c, dir, &m[i], err, errsz) != 0) {
			applied = -1;
			goto unlock;
		}
		applied++;
	}
unlock:
	unlock(c);
out:
	for (size_t i = 0; i < n; i++)
		free(m[i].name);
	free(m);
	return applied;
}

int os_migrate_pooled(os_db_pool_t *pool, int wait_ms, const char *dir, int timeout_ms,
                      int db_timeout_ms, char *err, size_t errsz)
{
	PGconn *c = os_db_checkout(pool, wait_ms, err, errsz);
	char set[64];
	int n = -1;

	if (c == NULL)
		return -1;
	/* A migration may rewrite a large table, and another replica may hold
	 * the migration lock while it does: longer deadlines than a request's,
	 * on both sides, for this session only. */
	snprintf(set, sizeof(set), "SET statement_timeout = %d", timeout_ms);
	os_pg_set_timeout(c, timeout_ms);
	if (os_pg_cmd(c, set, err, errsz) == 0)
		n = os_migrate(c, dir, err, errsz);
	os_pg_set_timeout(c, db_timeout_ms);
	if (n >= 0 && os_pg_cmd(c, "RESET statement_timeout", err, errsz) != 0)
		n = -1;
	os_db_checkin(pool, c);
	return n;
}
