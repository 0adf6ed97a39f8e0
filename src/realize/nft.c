#include "realize/nft.h"

#include <fcntl.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "realize/netns.h"

/* Run cmd with a fresh context inside nsfd; out/err get copies of nft's buffers. */
static int run(int nsfd, const char *cmd, char **out, char **err)
{
	int self = -1, rc = -1;
	struct nft_ctx *ctx = NULL;
	if (nsfd >= 0 && ((self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0 || netns_enter(nsfd) < 0))
		goto out;
	if (!(ctx = nft_ctx_new(NFT_CTX_DEFAULT)))
		goto out;
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	rc = nft_run_cmd_from_buffer(ctx, cmd) ? -1 : 0;
	if (out)
		*out = strdup(nft_ctx_get_output_buffer(ctx));
	if (err)
		*err = rc ? strdup(nft_ctx_get_error_buffer(ctx)) : NULL;
out:
	if (ctx)
		nft_ctx_free(ctx);
	if (self >= 0) {
		netns_enter(self);
		close(self);
	}
	return rc;
}

int nft_apply(int nsfd, const char *script, char **err)
{
	return run(nsfd, script, NULL, err);
}

char *nft_query(int nsfd, const char *cmd)
{
	char *out = NULL;
	if (run(nsfd, cmd, &out, NULL) < 0) {
		free(out);
		return NULL;
	}
	return out;
}
