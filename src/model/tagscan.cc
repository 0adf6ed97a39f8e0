// simdjson scan of a Service Tags file; see tagscan.h. The DOM parser validates the whole document (every
// number and literal, UTF-8), then we walk it. Exceptions are off: every access checks. To agree with the
// jansson reader on every file it accepts, it gives up (returns -1) on anything that reader would reject or
// would read differently: a repeated key, a missing or mistyped field.
#include "model/tagscan.h"

#include <cstring>
#include <simdjson.h>

using namespace simdjson;

namespace {

bool unique_keys(dom::object o)
{
	size_t n = 0;
	std::string_view k[32];
	for (auto f : o) {
		for (size_t i = 0; i < n; i++)
			if (k[i] == f.key)
				return false;
		if (n == sizeof(k) / sizeof(k[0]))
			return false;
		k[n++] = f.key;
	}
	return true;
}

// A string member, "" when absent or null; false when of another type.
bool opt_string(dom::object o, const char *key, std::string_view *out)
{
	dom::element v;
	*out = "";
	if (o.at_key(key).get(v))
		return true;
	return v.is_null() || !v.get_string().get(*out);
}

// An integer member as jansson reads it (json_is_integer), else -1.
long long opt_int(dom::object o, const char *key)
{
	int64_t v;
	if (o.at_key(key).get_int64().get(v))
		return -1;
	return v;
}

int scan_entry(dom::element item, const struct tagscan_ops *ops, void *ctx)
{
	dom::object e, props;
	dom::array prefixes;
	std::string_view name, region, svc;
	if (item.get_object().get(e) || !unique_keys(e) || e.at_key("name").get_string().get(name) || name.empty() ||
	    e.at_key("properties").get_object().get(props) || !unique_keys(props) ||
	    !opt_string(props, "region", &region) || !opt_string(props, "systemService", &svc) ||
	    props.at_key("addressPrefixes").get_array().get(prefixes))
		return -1;
	if (ops->begin(ctx, name.data(), name.size(), region.data(), region.size(), svc.data(), svc.size(),
		       opt_int(props, "changeNumber")))
		return -1;
	for (dom::element p : prefixes) {
		std::string_view s;
		if (p.get_string().get(s) || ops->prefix(ctx, s.data(), s.size()))
			return -1;
	}
	return ops->end(ctx);
}

} // namespace

extern "C" int tagscan(const char *buf, size_t len, const struct tagscan_ops *ops, void *ctx)
{
	dom::parser parser;
	dom::element doc;
	dom::object root;
	dom::array values;
	if (len == 0 || parser.parse(buf, len, false).get(doc) || doc.get_object().get(root) || !unique_keys(root) ||
	    root.at_key("values").get_array().get(values))
		return -1;
	if (ops->file_change && ops->file_change(ctx, opt_int(root, "changeNumber")))
		return -1;
	for (dom::element item : values)
		if (scan_entry(item, ops, ctx))
			return -1;
	return 0;
}
