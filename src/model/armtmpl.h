/* ARM deployment templates (and the JSON that Bicep compiles to): evaluate the template language far enough to
 * read the NSGs and route tables a template deploys. docs/arm-templates.md lists the functions and the
 * placeholders used for what only a real deployment knows (subscription, resource group, uniqueString). */
#ifndef MINET_ARMTMPL_H
#define MINET_ARMTMPL_H

#include <jansson.h>
#include <stdbool.h>

#include "model/diag.h"

/* true if root looks like a deployment template ($schema naming deploymentTemplate, or contentVersion+resources). */
bool armtmpl_is_template(const json_t *root);

/* Evaluate the template with `params` (the root of a standard deploymentParameters file
 * {"$schema":…,"parameters":{"name":{"value":…}}}, or NULL: parameters' defaultValue) and return a NEW json array of
 * the resources whose "type" equals `type` case-insensitively (e.g. "Microsoft.Network/networkSecurityGroups" or
 * "Microsoft.Network/routeTables"), each fully evaluated: no "[…]" expression strings left, copy loops (resource copy
 * and property copy) expanded, "condition": false resources dropped, and child resources of that type
 * (nested "resources" arrays, and top-level "…/networkSecurityGroups/securityRules" / "…/routeTables/routes" whose
 * name is "parent/child") folded into the parent's properties.securityRules / properties.routes as {name, properties}.
 * Each returned resource has at least "name" and "properties". On error: NULL, with diag lines
 * "FILE: JSON.path: message" naming the expression text, e.g. "resources[2].properties.securityRules[0].properties.
 * sourceAddressPrefix: cannot evaluate [reference('x').id]: function 'reference' is not supported".
 * Parts of the template that no expression touched are shared with root (reference counted): treat the result as
 * read-only below each resource's properties object, or json_deep_copy() what you change. */
json_t *armtmpl_resources(const json_t *root, const json_t *params, const char *type, struct diag *d);

#endif
