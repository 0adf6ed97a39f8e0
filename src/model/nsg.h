/* Network security groups (azure-semantics.md §1, §2.1, §2.2): rules read from the ARM/REST shape (fields
 * under `properties`) or the flattened shape `az network nsg show` prints, validated as Azure validates
 * them, with the six default rules appended. Address fields are resolved against a netenv. */
#ifndef MINET_NSG_H
#define MINET_NSG_H

#include <jansson.h>

#include "model/diag.h"
#include "model/netenv.h"

enum direction { DIR_IN, DIR_OUT };

/* Protocols as bits, so a rule's protocol is a mask. [inference] `*` covers all five: the REST enum calls
 * it "any" and the default-rules footnote's "TCP, UDP, and ICMP" predates ESP and AH. */
enum { PROTO_TCP = 1, PROTO_UDP = 2, PROTO_ICMP = 4, PROTO_ESP = 8, PROTO_AH = 16, PROTO_ANY = 31 };
const char *proto_name(unsigned one_bit);   /* "Tcp", "Udp", … */
int proto_parse(const char *s, unsigned *mask); /* Azure spelling or lower case; "*" → PROTO_ANY */
static inline bool proto_has_ports(unsigned p) { return p == PROTO_TCP || p == PROTO_UDP; }

struct addr_field {
	const struct ipset *set; /* a tag's set, or &own */
	struct ipset own;
	char *text;              /* as written: "*", a tag, "a, b, c", or "application security group web" */
	bool is_tag;
	bool is_asg;             /* own holds the members of application security groups */
};

struct port_field {
	struct prange *r; /* sorted, merged */
	size_t n;
	char *text;
	bool any;         /* covers 0-65535 */
};

struct nsg_rule {
	char *name;
	int priority;
	enum direction dir;
	bool allow;
	unsigned proto;
	struct addr_field src, dst;
	struct port_field sport, dport;
	bool is_default;
	char *json_path; /* NULL for default rules */
	/* Set when a side names an application security group minet has no members for (no --asg, or not in it):
	 * that side then matches nothing, and this says so ("rule X uses application security group Y: …"). */
	char *note;
};

struct nsg {
	char *name;
	char *file;
	struct nsg_rule *rules; /* inbound by priority (defaults last), then outbound likewise */
	size_t n, nin;
};

#define NSG_MAX_RULES 1000    /* user rules per NSG (§1.7) */
#define NSG_MAX_ADDRESSES 4000 /* addresses and ranges per side per NSG (§1.7) */
#define NSG_MAX_BYTES (16u << 20)

/* Parse and validate. 0 and a complete NSG, or -1 with every error reported. The NSG points into env's
 * sets: env must outlive it and must not change afterwards (add routes to env first). */
/* After the rules were sorted inbound first: point address fields at their own sets again, count the inbound. */
void nsg_rules_sorted(struct nsg *g);
/* A rule's ports: one range (one, at one_path) or a list of them (many, at many_path; used when not NULL), sorted
 * and merged into f, f->text as written. 0 or -1 (reported). */
int port_field_parse(struct port_field *f, const char *one, const char *one_path, json_t *many, const char *many_path,
		     struct diag *d);
/* acc + ", " + s (acc may be NULL; freed on failure). NULL when out of memory. */
char *nsg_text_join(char *acc, const char *s);
int nsg_load_file(struct nsg *g, const char *path, const struct netenv *env, struct diag *d);
int nsg_load_json(struct nsg *g, json_t *root, const char *file, const struct netenv *env, struct diag *d);
void nsg_free(struct nsg *g);
void nsg_rule_free(struct nsg_rule *r);

/* Azure's six default rules (§1.2), i = 0..NSG_NDEFAULT-1: inbound 65000, 65001, 65500, then outbound. 0, or
 * -1 when out of memory (r then holds what was allocated: free it with nsg_rule_free). */
#define NSG_NDEFAULT 6
int nsg_default_rule(struct nsg_rule *r, size_t i, const struct netenv *env);

/* The rules of one direction in evaluation order. */
static inline const struct nsg_rule *nsg_rules(const struct nsg *g, enum direction dir, size_t *n)
{
	*n = dir == DIR_IN ? g->nin : g->n - g->nin;
	return dir == DIR_IN ? g->rules : g->rules + g->nin;
}

/* Azure's resource-name rule for security rules and routes: 1-80 characters, word characters, '.', '-'
 * and '_', beginning with a word character and ending with a word character or '_'. */
bool azure_name_valid(const char *s);

#endif
