// Helpers for tests of RPCs that take and return libvirt typed parameters
// (virtgrpc.v1.TypedParameter): building parameters and requests, and reading a
// response's parameters by name.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <google/protobuf/repeated_field.h>
#include <gtest/gtest.h>

#include "tests/support/server-test.h"
#include "virtgrpc/v1/domain.pb.h"
#include "virtgrpc/v1/typed_parameter.pb.h"

namespace virtgrpc::testing {

using TypedParameters = google::protobuf::RepeatedPtrField<v1::TypedParameter>;

inline v1::TypedParameter Uint64Param(const std::string &name, uint64_t value) {
    v1::TypedParameter p;
    p.set_name(name);
    p.set_uint64_value(value);
    return p;
}

inline v1::TypedParameter Uint32Param(const std::string &name, uint32_t value) {
    v1::TypedParameter p;
    p.set_name(name);
    p.set_uint32_value(value);
    return p;
}

inline v1::TypedParameter Int32Param(const std::string &name, int32_t value) {
    v1::TypedParameter p;
    p.set_name(name);
    p.set_int32_value(value);
    return p;
}

inline v1::TypedParameter StringParam(const std::string &name, const std::string &value) {
    v1::TypedParameter p;
    p.set_name(name);
    p.set_string_value(value);
    return p;
}

inline v1::TypedParameter BoolParam(const std::string &name, bool value) {
    v1::TypedParameter p;
    p.set_name(name);
    p.set_bool_value(value);
    return p;
}

// The parameter called `name`; an empty TypedParameter (no value) plus a test failure
// naming the parameters there are when it is absent.
inline v1::TypedParameter ParamOf(const TypedParameters &params, const std::string &name) {
    std::string names;
    for (const v1::TypedParameter &p : params) {
        if (p.name() == name)
            return p;
        names += (names.empty() ? "" : ", ") + p.name();
    }
    ADD_FAILURE() << "no parameter '" << name << "' among: " << names;
    return v1::TypedParameter();
}

inline bool HasParam(const TypedParameters &params, const std::string &name) {
    for (const v1::TypedParameter &p : params) {
        if (p.name() == name)
            return true;
    }
    return false;
}

inline std::vector<std::string> ParamNames(const TypedParameters &params) {
    std::vector<std::string> names;
    for (const v1::TypedParameter &p : params)
        names.push_back(p.name());
    return names;
}

// A request for the domain called `domain` with `impact`: every request of the
// typed-parameter RPCs has fields `domain` and `impact`.
template <typename Request>
Request ParamsRequest(const std::string &domain,
                      std::initializer_list<v1::ModificationImpact> impact = {}) {
    Request request;
    *request.mutable_domain() = RefByName(domain);
    for (v1::ModificationImpact i : impact)
        request.add_impact(i);
    return request;
}

// The same, for setters, with `parameters`.
template <typename Request>
Request SetParamsRequest(const std::string &domain,
                         std::initializer_list<v1::TypedParameter> parameters,
                         std::initializer_list<v1::ModificationImpact> impact = {}) {
    Request request = ParamsRequest<Request>(domain, impact);
    for (const v1::TypedParameter &p : parameters)
        *request.add_parameters() = p;
    return request;
}

}  // namespace virtgrpc::testing
