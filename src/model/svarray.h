// A growing array of string_views that says when memory runs out. The C++ files are built with -fno-exceptions,
// where std::vector's std::bad_alloc ends the program ("terminate called …"): a reader must report it instead.
#ifndef MINET_SVARRAY_H
#define MINET_SVARRAY_H

#include <cstdlib>
#include <string_view>

struct sv_array {
	std::string_view *v = nullptr;
	size_t n = 0, cap = 0;

	sv_array() = default;
	sv_array(const sv_array &) = delete;
	sv_array &operator=(const sv_array &) = delete;
	~sv_array() { std::free(v); }

	// false: out of memory (the array is as it was)
	bool push(std::string_view s)
	{
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 32;
			void *nv = std::realloc(v, nc * sizeof(*v));
			if (!nv)
				return false;
			v = static_cast<std::string_view *>(nv);
			cap = nc;
		}
		v[n++] = s;
		return true;
	}
	std::string_view *begin() const { return v; }
	std::string_view *end() const { return v + n; }
	size_t size() const { return n; }
	void clear() { n = 0; }
};

#endif
