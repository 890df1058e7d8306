/*
 * Private to common/: what the line writer (log.c) needs from the redactor
 * (log_redact.c) besides the public eda_log_redact(). Not installed.
 */
#ifndef EDA_LOG_INTERNAL_H
#define EDA_LOG_INTERNAL_H

#include <stdbool.h>

/* True when an eda_log field named KEY (NUL-terminated) holds a secret, so that
 * its value is replaced by "***" whole instead of being scanned: the name ends
 * with password, secret, token, authorization, api_key, cookie, ... in any case,
 * '-' counting as '_' ("X-Api-Key"). */
bool eda_log__field_key_is_secret(const char *key);

#endif
