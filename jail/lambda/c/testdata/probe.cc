// probe.cc checks that lambda.h works from C++: it uses the standard
// library freely and answers like probe.c's dump mode, without the puts.
#define LAMBDA_IMPLEMENTATION
#include "lambda.h"

#include <map>
#include <sstream>
#include <string>
#include <vector>

ExecResponse lkv_handler(const ExecArgs *a)
{
	std::vector<std::string> args(a->argv, a->argv + a->argc);
	std::map<std::string, std::string> values;
	for (size_t i = 0; i < a->nvalues; i++)
		values[a->values[i].key] = std::string(reinterpret_cast<const char *>(a->values[i].data), a->values[i].len);
	std::ostringstream out;
	out << "c++ argc=" << args.size() << "\n";
	for (const auto &s : args)
		out << "arg " << s << "\n";
	for (const auto &kv : values)
		out << "value " << kv.first << "=" << kv.second << "\n";
	ExecResponse r = lkv_response();
	const std::string s = out.str();
	lkv_write(&r, s.data(), s.size());
	lkv_put_str(&r, "cc/done", "yes", LKV_RW);
	r.return_code = static_cast<int>(args.size());
	return r;
}
