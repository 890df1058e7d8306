/*
 * RFC 9457 problem documents and HTTP reason phrases. Pure Jansson: the
 * server turns these objects into application/problem+json responses, and
 * services use them to add their own problem types and extension members.
 */
#include "eda/http.h"

#include <stdlib.h>

const char *eda_http_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 428:
		return "Precondition Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Unknown";
	}
}

/* Jansson refuses strings that are not UTF-8; a problem document must still
 * be produced, so such a string is replaced rather than dropping the field. */
static json_t *string_or_placeholder(const char *s)
{
	json_t *j = json_string(s);

	return j != NULL ? j : json_string("(invalid UTF-8)");
}

json_t *eda_problem_new(int status, const char *type, const char *title, const char *detail)
{
	json_t *p = json_object();

	if (p == NULL)
		abort();
	json_object_set_new(p, "type", string_or_placeholder(type != NULL ? type : "about:blank"));
	json_object_set_new(p, "title",
	                    string_or_placeholder(title != NULL ? title : eda_http_reason(status)));
	json_object_set_new(p, "status", json_integer(status));
	if (detail != NULL)
		json_object_set_new(p, "detail", string_or_placeholder(detail));
	return p;
}

json_t *eda_problem_field_error(json_t *errors, const char *field, const char *message)
{
	json_t *e;

	if (errors == NULL)
		errors = json_array();
	e = json_object();
	if (errors == NULL || e == NULL)
		abort();
	json_object_set_new(e, "field", string_or_placeholder(field != NULL ? field : ""));
	json_object_set_new(e, "message", string_or_placeholder(message != NULL ? message : ""));
	json_array_append_new(errors, e);
	return errors;
}
