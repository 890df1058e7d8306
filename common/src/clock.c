/*
 * Wall and monotonic clocks and deadlines (see eda/clock.h). clock_gettime()
 * on the clocks used here cannot fail on Linux (they exist since 2.6), so the
 * readers return values rather than statuses.
 */
#include "eda/clock.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NS_PER_MS  1000000L
#define NS_PER_SEC 1000000000L

static int64_t read_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / NS_PER_MS;
}

int64_t eda_clock_wall_ms(void)
{
	return read_ms(CLOCK_REALTIME);
}

int64_t eda_clock_mono_ms(void)
{
	return read_ms(CLOCK_MONOTONIC);
}

void eda_clock_rfc3339_at(int64_t wall_ms, char out[static EDA_RFC3339_LEN])
{
	time_t secs = (time_t)(wall_ms / 1000);
	int ms = (int)(wall_ms % 1000);
	struct tm tm;
	char buf[96];

	/* Before the epoch, division rounds toward zero: borrow a second so that
	 * the milliseconds stay in 0..999. */
	if (ms < 0) {
		secs--;
		ms += 1000;
	}
	gmtime_r(&secs, &tm);
	/* Through a buffer that fits any int, so that the compiler sees no
	 * possible truncation; years of this era take four digits. */
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	memcpy(out, buf, EDA_RFC3339_LEN - 1);
	out[EDA_RFC3339_LEN - 1] = '\0';
}

void eda_clock_rfc3339(char out[static EDA_RFC3339_LEN])
{
	eda_clock_rfc3339_at(eda_clock_wall_ms(), out);
}

struct timespec eda_clock_deadline(clockid_t clock, int64_t timeout_ms)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	ts.tv_sec += (time_t)(timeout_ms / 1000);
	ts.tv_nsec += (long)(timeout_ms % 1000) * NS_PER_MS;
	if (ts.tv_nsec >= NS_PER_SEC) {
		ts.tv_sec++;
		ts.tv_nsec -= NS_PER_SEC;
	}
	return ts;
}

/* True when the N first bytes of S are decimal digits. */
static bool digits(const char *s, size_t n)
{
	return strspn(s, "0123456789") >= n;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

static int num(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

bool eda_rfc3339_valid(const char *s)
{
	const char *p = s + 19;
	int year, month, day;

	if (strlen(s) < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
	    !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
	    !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return false;
	year = num(s, 4);
	month = num(s + 5, 2);
	day = num(s + 8, 2);
	if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
	    num(s + 11, 2) > 23 || num(s + 14, 2) > 59 || num(s + 17, 2) > 59)
		return false;
	if (*p == '.') {
		size_t n = strspn(p + 1, "0123456789");

		if (n < 1 || n > 9)
			return false;
		p += 1 + n;
	}
	if (p[0] == 'Z' && p[1] == '\0')
		return true;
	return (p[0] == '+' || p[0] == '-') && digits(p + 1, 2) && p[3] == ':' &&
	       digits(p + 4, 2) && p[6] == '\0' && num(p + 1, 2) <= 23 && num(p + 4, 2) <= 59;
}
