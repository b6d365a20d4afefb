// Writing C text: comments, string literals, output files.
#include <algorithm>
#include <cstdio>
#include <memory>

#include <google/protobuf/io/zero_copy_stream.h>

#include "bazel/codegen/codegen.h"

namespace vg_codegen {

std::string
CComment(const std::string &text, const std::string &indent)
{
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        std::string line = text.substr(start, end - start);
        // Proto comments are free text: keep them from closing the C comment early,
        // opening a nested one (-Wcomment) or continuing a line with a backslash.
        for (size_t at; (at = line.find("*/")) != std::string::npos;) {
            line.replace(at, 2, "* /");
        }
        for (size_t at; (at = line.find("/*")) != std::string::npos;) {
            line.replace(at, 2, "/ *");
        }
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' ||
                                 line.back() == '\r' || line.back() == '\\')) {
            line.pop_back();
        }
        lines.push_back(line);
        start = end + 1;
    }
    while (!lines.empty() && lines.back().empty()) {
        lines.pop_back();
    }
    if (lines.empty()) {
        return "";
    }

    std::string out = indent + "/*\n";
    for (const std::string &line : lines) {
        // protoc keeps the space after "//"; a line without one still gets a gap.
        std::string body = line.empty() || line[0] == ' ' ? line : " " + line;
        out += indent + " *" + body + "\n";
    }
    out += indent + " */\n";
    return out;
}

std::string
Wrap(const std::string &paragraph, size_t width)
{
    std::string out;
    size_t line_length = 0;
    size_t start = 0;
    while (start < paragraph.size()) {
        size_t end = paragraph.find(' ', start);
        if (end == std::string::npos) {
            end = paragraph.size();
        }
        std::string word = paragraph.substr(start, end - start);
        start = end + 1;
        if (word.empty()) {
            continue;
        }
        if (line_length > 0 && line_length + 1 + word.size() > width) {
            out += "\n";
            line_length = 0;
        } else if (line_length > 0) {
            out += " ";
            line_length++;
        }
        out += word;
        line_length += word.size();
    }
    return out;
}

std::string
Parenthesized(const std::string &head, const std::vector<std::string> &args)
{
    // Past this column aligned arguments would run off a 100-column line.
    const size_t max_align = 40;
    std::string out = head + "(";
    std::string indent(head.size() + 1, ' ');
    if (head.size() + 1 > max_align && !args.empty()) {
        indent = std::string(head.find_first_not_of(' ') + 4, ' ');
        out += "\n" + indent;
    }
    for (size_t i = 0; i < args.size(); i++) {
        out += (i == 0 ? "" : ",\n" + indent) + args[i];
    }
    return out + ")";
}

std::string
CString(const std::string &text)
{
    std::string out = "\"";
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c >= 0x20 && c < 0x7f && c != '?') {
            // '?' is escaped too: "??" could start a trigraph in older C modes.
            out += static_cast<char>(c);
        } else {
            char octal[8];
            std::snprintf(octal, sizeof(octal), "\\%03o", c);
            out += octal;
        }
    }
    return out + "\"";
}

std::string
GeneratedBanner(const std::string &mode)
{
    return "/* Generated from the .proto files by protoc-gen-virtgrpc (mode=" + mode +
           "). Do not edit. */\n";
}

bool
WriteFile(pb::compiler::GeneratorContext *context, const std::string &name,
          const std::string &content)
{
    std::unique_ptr<pb::io::ZeroCopyOutputStream> output(context->Open(name));
    const char *data = content.data();
    size_t remaining = content.size();
    while (remaining > 0) {
        void *buffer;
        int size;
        if (!output->Next(&buffer, &size)) {
            return false;
        }
        size_t chunk = std::min(remaining, static_cast<size_t>(size));
        std::copy(data, data + chunk, static_cast<char *>(buffer));
        data += chunk;
        remaining -= chunk;
        if (chunk < static_cast<size_t>(size)) {
            output->BackUp(static_cast<int>(static_cast<size_t>(size) - chunk));
        }
    }
    return true;
}

}  // namespace vg_codegen
