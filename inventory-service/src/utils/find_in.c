/* Finding documents by a list of values; see find_in.h. */
#include "utils/find_in.h"

#include "eda/errbuf.h"

bson_t *inv_in_filter(const char *field, const char *const *values, size_t n)
{
	bson_t *filter = bson_new();
	bson_t in, list;

	bson_append_document_begin(filter, field, -1, &in);
	bson_append_array_begin(&in, "$in", -1, &list);
	for (size_t i = 0; i < n; i++) {
		char buf[16];
		const char *key;

		/* BSON arrays are documents keyed "0", "1", ... */
		bson_uint32_to_string((uint32_t)i, &key, buf, sizeof(buf));
		bson_append_utf8(&list, key, -1, values[i], -1);
	}
	bson_append_array_end(&in, &list);
	bson_append_document_end(filter, &in);
	return filter;
}

int inv_find_each(mongoc_collection_t *coll, bson_t *filter, const bson_t *opts, inv_found_fn fn,
                  void *ctx, const char *what, char *err, size_t errsz)
{
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t be;
	int rc = 0;

	while (mongoc_cursor_next(cur, &doc))
		fn(doc, ctx);
	if (mongoc_cursor_error(cur, &be)) {
		eda_errf(err, errsz, "%s: %s", what, be.message);
		rc = -1;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(filter);
	return rc;
}

int inv_find_in(inv_db_t *db, mongoc_collection_t *coll, const char *field,
                const char *const *values, size_t n, const bson_t *opts, inv_found_fn fn, void *ctx,
                const char *what, char *err, size_t errsz)
{
	if (n == 0)
		return 0;
	if (!inv_db_is_ferretdb(db))
		return inv_find_each(coll, inv_in_filter(field, values, n), opts, fn, ctx, what,
		                     err, errsz);
	for (size_t i = 0; i < n; i++) {
		if (inv_find_each(coll, BCON_NEW(field, BCON_UTF8(values[i])), opts, fn, ctx, what,
		                  err, errsz) < 0)
			return -1;
	}
	return 0;
}
