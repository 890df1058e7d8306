/* See run_cmd.h. */
#include "support/run_cmd.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int ts_run(const char *cmd, char *out, size_t outsz)
{
	size_t len = strlen(cmd) + sizeof(" 2>&1");
	char *full = malloc(len);
	FILE *p;
	size_t n;
	int status;

	ck_assert_ptr_nonnull(full);
	snprintf(full, len, "%s 2>&1", cmd);
	p = popen(full, "r");
	free(full);
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, outsz - 1, p);
	out[n] = '\0';
	/* Read to the end, so that a long output cannot block the child. */
	while (fgetc(p) != EOF)
		;
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
