/*
 * ProductChanged: every change of a product's name, price or currency (its
 * creation too) goes out on the products topic, key = SKU, through the
 * service's outbox, with the product's revision as its `version`.
 *
 * Writes of a change, in order (no multi-document transactions):
 *   P  the product document with revision r+1 (services/products.c)
 *   T  the catalogue's change token (repositories/products.h), for the
 *      reservations' price cache
 *   M  the pending marker of O (repositories/published.h)
 *   O  the outbox row "product/<sku>/<r+1>" holding the ProductChanged,
 *      inserted once (unique _id)
 *   A  published_revision = r+1 on the product document
 * A crash after P leaves revision > published_revision: the next PUT of the
 * product, or the sweep at every start (inv_catalogue_recover), writes T and
 * O from the document as it is then, so the replica converges to the
 * document. A crash after O (before A) makes the sweep find O as a
 * duplicate of the same content: it only sets A; O's marker has it
 * published by the publisher's replay. Sending is after O is durable, as for
 * every other event of the service.
 */
#ifndef INV_CATALOGUE_H
#define INV_CATALOGUE_H

#include <stddef.h>

#include "models/product.h"
#include "services/context.h"

/* Puts the ProductChanged of P (revision P->revision, its name, price and
 * currency) into the outbox, publishes it and marks it on the document. If
 * another change took that revision first with other content, P is re-read
 * and announced at a newer revision (P is updated). Returns 0 or -1 with ERR. */
int inv_catalogue_announce(const inv_ctx_t *ctx, inv_product_t *p, char *err, size_t errsz);

/* The start-up sweep: announces every product whose revision was never put
 * into the outbox (a crash between P and A; documents from before revisions
 * get revision 1 and the store's currency) and renews the change token.
 * Reads the products collection once, page by page (start-up only). Returns
 * how many products it announced, or -1 with ERR. */
int inv_catalogue_recover(const inv_ctx_t *ctx, char *err, size_t errsz);

#endif
