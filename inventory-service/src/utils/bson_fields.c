/*
 * Document fields with neutral defaults; see bson_fields.h.
 */
#include "utils/bson_fields.h"

#include <stdio.h>

int64_t inv_bson_int(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it))
		return bson_iter_as_int64(&it);
	return 0;
}

void inv_bson_str(char *dst, size_t size, const bson_t *doc, const char *key)
{
	bson_iter_t it;

	dst[0] = '\0';
	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
		snprintf(dst, size, "%s", bson_iter_utf8(&it, NULL));
}
