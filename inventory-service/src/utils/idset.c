/* Bounded id set with FIFO forgetting; see idset.h. */
#include "utils/idset.h"

#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"

#define NBUCKETS 8192

typedef struct node {
	struct node *next;
	char key[];
} node_t;

struct inv_idset {
	node_t *bucket[NBUCKETS];
	char **ring; /* acknowledged keys, oldest at head */
	size_t keep, head, count;
};

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ULL;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h % NBUCKETS;
}

inv_idset_t *inv_idset_new(size_t keep)
{
	inv_idset_t *s = eda_xcalloc(1, sizeof(*s));

	s->keep = keep > 0 ? keep : 1;
	s->ring = eda_xcalloc(s->keep, sizeof(*s->ring));
	return s;
}

static node_t **find(inv_idset_t *s, const char *key)
{
	node_t **p = &s->bucket[hash(key)];

	while (*p != NULL && strcmp((*p)->key, key) != 0)
		p = &(*p)->next;
	return p;
}

bool inv_idset_begin(inv_idset_t *s, const char *key)
{
	node_t **p = find(s, key);
	size_t n;

	if (*p != NULL)
		return false;
	n = strlen(key) + 1;
	*p = eda_xmalloc(sizeof(node_t) + n);
	(*p)->next = NULL;
	memcpy((*p)->key, key, n);
	return true;
}

void inv_idset_forget(inv_idset_t *s, const char *key)
{
	node_t **p = find(s, key), *n = *p;

	if (n != NULL) {
		*p = n->next;
		free(n);
	}
}

void inv_idset_done(inv_idset_t *s, const char *key)
{
	if (s->count == s->keep) {
		inv_idset_forget(s, s->ring[s->head]);
		free(s->ring[s->head]);
		s->head = (s->head + 1) % s->keep;
		s->count--;
	}
	s->ring[(s->head + s->count) % s->keep] = eda_xstrdup(key);
	s->count++;
}

void inv_idset_free(inv_idset_t *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		while (s->bucket[i] != NULL) {
			node_t *n = s->bucket[i];

			s->bucket[i] = n->next;
			free(n);
		}
	}
	for (size_t i = 0; i < s->count; i++)
		free(s->ring[(s->head + i) % s->keep]);
	free(s->ring);
	free(s);
}
