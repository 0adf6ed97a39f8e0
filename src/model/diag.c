#include "model/diag.h"

#include <stdarg.h>

void diag_err(struct diag *d, const char *path, const char *fmt, ...)
{
	d->errors++;
	if (!d->out)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(d->out, "%s: ", d->file ? d->file : "minet");
	if (path && *path)
		fprintf(d->out, "%s: ", path);
	vfprintf(d->out, fmt, ap);
	fputc('\n', d->out);
	va_end(ap);
}
