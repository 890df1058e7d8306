/*
 * {field: {$in: [...]}} filters; see in_filter.h.
 */
#include "utils/in_filter.h"

void inv_in_begin(inv_in_filter_t *f, const char *field)
{
	f->filter = bson_new();
	f->n = 0;
	bson_append_document_begin(f->filter, field, -1, &f->in);
	bson_append_array_begin(&f->in, "$in", -1, &f->values);
}

void inv_in_add(inv_in_filter_t *f, const char *value)
{
	char buf[16];
	const char *key;

	/* BSON arrays are documents keyed "0", "1", ... */
	bson_uint32_to_string(f->n++, &key, buf, sizeof(buf));
	bson_append_utf8(&f->values, key, -1, value, -1);
}

bson_t *inv_in_end(inv_in_filter_t *f)
{
	bson_append_array_end(&f->in, &f->values);
	bson_append_document_end(f->filter, &f->in);
	return f->filter;
}
