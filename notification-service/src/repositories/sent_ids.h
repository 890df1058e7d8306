/*
 * The durable record of event ids whose e-mail a relay accepted, so that a
 * restarted process does not send them again when Kafka redelivers their
 * events (offsets are committed after the e-mails, not with them).
 *
 * An append-only text file, one id a line (bytes outside '!'..'~' and '%'
 * percent-encoded), written with one write(2) per id and made durable with
 * one fdatasync(2) per batch (notif_sent_ids_sync). It is bounded by rotation: once
 * the current file holds KEEP/2 ids it becomes PATH.1 (replacing the older
 * one) and a new PATH is started, so between KEEP/2 and KEEP of the most
 * recent ids survive a restart. A lock file PATH.lock keeps a second process
 * out. Not thread-safe: the consumer thread is its only user.
 */
#ifndef NOTIF_REPOSITORIES_SENT_IDS_H
#define NOTIF_REPOSITORIES_SENT_IDS_H

#include <stddef.h>

typedef struct notif_sent_ids notif_sent_ids_t;

/* Called once per recorded id, oldest first. ID is valid during the call. */
typedef void (*notif_sent_ids_each_fn)(const char *id, void *ctx);

/*
 * Opens the record at PATH (its directory is created if missing, one level),
 * takes PATH.lock, calls EACH(id, CTX) for every id in PATH.1 then PATH, and
 * cuts a torn last line (a crash in the middle of a write) off PATH. KEEP >= 2.
 * Returns NULL with ERR (unusable directory, I/O error, locked by another
 * process).
 */
notif_sent_ids_t *notif_sent_ids_open(const char *path, size_t keep, notif_sent_ids_each_fn each,
                                      void *ctx, char *err, size_t errsz);

/* Releases the lock and frees R (NULL is fine). Appended ids not yet synced
 * stay in the file: a process that dies keeps them too, only a crash of the
 * machine may lose them. */
void notif_sent_ids_close(notif_sent_ids_t *r);

/* Appends ID (NUL-terminated, any bytes) to the file. Durable only after the
 * next notif_sent_ids_sync() returned 0. Returns 0, or -1 with ERR. */
int notif_sent_ids_append(notif_sent_ids_t *r, const char *id, char *err, size_t errsz);

/* Makes every appended id durable, then rotates the file if it is full.
 * Returns 0, or -1 with ERR. */
int notif_sent_ids_sync(notif_sent_ids_t *r, char *err, size_t errsz);

/* Ids in the current file (for tests and the rotation rule). */
size_t notif_sent_ids_current(const notif_sent_ids_t *r);

#endif
