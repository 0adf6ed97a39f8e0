#include "model/diag.h"

#include <stdarg.h>
#include <stdlib.h>

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

bool diag_hold_begin(struct diag_hold *h, const struct diag *like)
{
	*h = (struct diag_hold){ .d = *like };
	h->d.errors = 0;
	if (!like->out)
		return true;
	h->d.out = h->mem = open_memstream(&h->text, &h->len);
	return h->mem != NULL;
}

void diag_hold_end(struct diag_hold *h, struct diag *into)
{
	/* a line the stream had no memory to hold is lost, and so the hold's error would go unsaid: what was held up
	 * to the last whole line is printed, then that memory ran out */
	bool lost = h->mem && ferror(h->mem);
	if (h->mem)
		lost |= fclose(h->mem) != 0;
	while (lost && h->len && h->text[h->len - 1] != '\n')
		h->len--;
	if (into && into->out && h->len)
		fwrite(h->text, 1, h->len, into->out);
	if (into) {
		into->errors += h->d.errors;
		into->oom_said |= h->d.oom_said && !lost;
		if (lost) {
			struct diag o = { .out = into->out, .file = h->d.file, .oom_said = into->oom_said };
			diag_oom(&o, NULL);
			into->oom_said = true;
		}
	}
	free(h->text);
	*h = (struct diag_hold){ 0 };
}
