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
	char mapped[1024];
	if (path && d->map_path)
		path = d->map_path(d->map_ctx, path, mapped, sizeof(mapped));
	if (path && *path)
		fprintf(d->out, "%s: ", path);
	vfprintf(d->out, fmt, ap);
	fputc('\n', d->out);
	va_end(ap);
}

void diag_oom(struct diag *d, const char *path)
{
	if (d->oom_said) {
		d->errors++;
		return;
	}
	d->oom_said = true;
	diag_err(d, path, "out of memory");
}
