/* nftables through libnftables: one script, one atomic transaction, in one namespace. */
#ifndef MINET_NFT_H
#define MINET_NFT_H

/* Run script inside the namespace behind nsfd (-1: the caller's). 0 when the whole transaction was
 * committed; otherwise -1 and *err (if not NULL) gets nft's message, to free. Nothing is applied then. */
int nft_apply(int nsfd, const char *script, char **err);

/* Run a listing command (e.g. "list ruleset") and return its output (to free), or NULL. */
char *nft_query(int nsfd, const char *cmd);

#endif
