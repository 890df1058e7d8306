/*
 * /openapi.json and /docs (see docs.h). The page is embedded here rather than
 * loaded from a CDN: nothing outside the machine may be reachable, and a
 * page that needs no network but the gateway itself always works.
 */
#include "routers/docs.h"

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "utils/file.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct gw_docs {
	char *spec;
	size_t len;
};

static const char page[] =
        "<!doctype html>\n"
        "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<title>EDA shop API</title>\n"
        "<style>\n"
        "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#222}\n"
        ".op{border:1px solid #ccc;border-radius:6px;margin:.6rem 0;padding:.6rem}\n"
        ".m{display:inline-block;min-width:4.5rem;font-weight:bold;text-transform:uppercase}\n"
        ".get{color:#1565c0}.post{color:#2e7d32}.put{color:#ef6c00}.delete{color:#c62828}\n"
        "code{background:#f4f4f4;padding:0 .2rem}pre{background:#f8f8f8;padding:.5rem;"
        "overflow:auto}\n"
        "</style></head><body>\n"
        "<h1 id=\"title\">API</h1><p id=\"desc\"></p><div id=\"ops\">Loading "
        "<code>/openapi.json</code>...</div>\n"
        "<script>\n"
        "function el(t,c,x){var e=document.createElement(t);if(c)e.className=c;"
        "if(x!==undefined)e.textContent=x;return e;}\n"
        "fetch('openapi.json').then(function(r){return r.json();}).then(function(s){\n"
        " document.getElementById('title').textContent=s.info.title+' '+s.info.version;\n"
        " document.getElementById('desc').textContent=s.info.description||'';\n"
        " var ops=document.getElementById('ops');ops.textContent='';\n"
        " Object.keys(s.paths).forEach(function(p){\n"
        "  Object.keys(s.paths[p]).forEach(function(m){\n"
        "   var o=s.paths[p][m];if(typeof o!=='object'||!o.responses)return;\n"
        "   var d=el('div','op');var h=el('div');h.appendChild(el('span','m '+m,m));\n"
        "   h.appendChild(el('code',null,p));h.appendChild(el('span',null,' '+(o.summary||'')));\n"
        "   d.appendChild(h);if(o.description)d.appendChild(el('p',null,o.description));\n"
        "   var ps=(o.parameters||[]).map(function(x){return x.name+' ('+x.in+')';});\n"
        "   if(ps.length)d.appendChild(el('p',null,'Parameters: '+ps.join(', ')));\n"
        "   var rs=Object.keys(o.responses).map(function(c){return c+' '+"
        "(o.responses[c].description||'');});\n"
        "   d.appendChild(el('pre',null,rs.join('\\n')));ops.appendChild(d);\n"
        "  });\n"
        " });\n"
        "}).catch(function(e){document.getElementById('ops').textContent="
        "'Cannot load openapi.json: '+e;});\n"
        "</script></body></html>\n";

gw_docs_t *gw_docs_load(const char *path, char *err, size_t errsz)
{
	json_error_t jerr;
	json_t *doc;
	size_t len = 0;
	char *text = gw_read_file(path, 4 * 1024 * 1024, &len, err, errsz);
	gw_docs_t *d;

	if (text == NULL)
		return NULL;
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc) || !json_is_string(json_object_get(doc, "openapi")) ||
	    !json_is_object(json_object_get(doc, "paths"))) {
		eda_errf(err, errsz, "%s is not an OpenAPI document%s%s", path,
		         doc == NULL ? ": " : "", doc == NULL ? jerr.text : "");
		json_decref(doc);
		free(text);
		return NULL;
	}
	json_decref(doc);
	d = eda_xcalloc(1, sizeof(*d));
	d->spec = text;
	d->len = len;
	return d;
}

void gw_docs_free(gw_docs_t *d)
{
	if (d == NULL)
		return;
	free(d->spec);
	free(d);
}

static void openapi(eda_http_req_t *r, void *ctx)
{
	gw_docs_t *d = ctx;

	eda_http_reply_header(r, "Cache-Control", "no-cache");
	eda_http_reply(r, 200, "application/json", d->spec, d->len);
}

static void docs(eda_http_req_t *r, void *ctx)
{
	(void)ctx;
	/* The page runs only its own inline script and talks only to us. */
	eda_http_reply_header(r, "Content-Security-Policy",
	                      "default-src 'none'; script-src 'unsafe-inline'; "
	                      "style-src 'unsafe-inline'; connect-src 'self'");
	eda_http_reply(r, 200, "text/html; charset=utf-8", page, sizeof(page) - 1);
}

int gw_docs_routes_add(eda_http_server_t *s, gw_docs_t *d)
{
	int rc = eda_http_route(s, "GET", "/openapi.json", openapi, d);

	if (rc == 0)
		rc = eda_http_route(s, "GET", "/docs", docs, d);
	return rc;
}
