/* libFuzzer: the estate reader (Azure Resource Graph output: pages, arrays, JSON lines) and the estate verifier
 * over what it reads, with the fixed tags DB of fuzz_common.h. Success exactly when nothing was reported; a
 * loaded estate is verified on one thread, and every managed-instance subnet must be reported exactly once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/estate.h"
#include "fuzz_common.h"
#include "model/estate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t n;
	unsigned char *hit;
};

static int on_result(void *ctx, size_t i, const struct estate_result *r)
{
	struct seen *s = ctx;
	if (s->hit[i]++)
		abort(); /* reported twice */
	if (r->compliant && (r->nf || !r->rep || r->rep->nviolations))
		abort();
	s->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = { .out = NULL, .file = "fuzz.json" };
	struct estate e;
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	int ok = estate_load_buf(&e, buf, size, &d) == 0;
	if (ok != (d.errors == 0))
		abort();
	if (ok) {
		size_t ndefs;
		const struct contract_def *defs = contract_set("documented", &ndefs);
		struct seen s = { 0, calloc(e.nmi + 1, 1) };
		struct estate_opts o = { .tags = fuzz_tags(), .defs = defs, .ndefs = ndefs, .threads = 1,
					 .emit = on_result, .ctx = &s };
		if (!s.hit || estate_verify(&e, &o) < 0 || s.n != e.nmi)
			abort();
		free(s.hit);
		estate_free(&e);
	}
	free(buf);
	return 0;
}
