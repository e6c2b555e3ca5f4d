// Docker's Go text/template subset (`ps --format`, `inspect -f`), rendered over JSON.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace hako::format {

namespace detail {
struct Tree;
}

// A parsed template. Go text/template's language (actions, pipelines,
// variables, if/range/with/else, break/continue, literals) with Go's
// builtins (and or not len index slice print printf println eq ne lt le gt
// ge) and docker's (json split join title lower upper pad truncate).
// Not supported: define/template/block, call, html, js, urlquery.
// Copies share the parsed tree; a default-constructed one renders "".
class Template {
public:
    Template() = default;

    // Errors name the position and the problem:
    // "template: 1:9: unexpected `}` in command", "template: 1:3: function `foo` not defined".
    static Result<Template> parse(std::string_view text);

    // Render over `data`. Errors name the expression:
    // "template: `.Nmae`: no field `Nmae` (fields: ID, Image, Names)".
    Result<std::string> render(const nlohmann::json& data) const;

    // Render a table's header row over `headers` ({"ID": "CONTAINER ID", ...})
    // as docker does: json, split and join return their first argument,
    // and a field missing from `headers` renders as "".
    Result<std::string> render_header(const nlohmann::json& headers) const;

private:
    std::shared_ptr<const detail::Tree> tree_;
};

// A list command's --format, as docker reads it: "json" is {{json .}};
// "table ..." is a table (the rest is the row template, and the header's);
// `\t` and `\n` typed as two characters become a tab and a newline, and
// spaces around the template are trimmed. (A bare "table" leaves an empty
// template: callers substitute their default table format first.)
struct ListFormat {
    bool table = false;
    Template row;
    std::optional<Template> header;  // set when table
};
Result<ListFormat> parse_list_format(std::string_view format);

// Go's text/tabwriter as docker configures it (minwidth 10, padding 3,
// padding with spaces): cells end with '\t'; each column of a block of
// consecutive lines is as wide as max(10, widest cell + 3); the last cell of
// a line is not padded. Widths count UTF-8 runes.
std::string align_columns(std::string_view text);

// Render a list: each row then "\n" ("json": each row as one line of JSON);
// a table has the header line (the template over `headers`) first, and the
// whole aligned by align_columns.
Result<std::string> render_list(std::string_view format, const std::vector<nlohmann::json>& rows,
                                const nlohmann::json& headers);
// The same over `n` rows made one at a time by row(i), each dropped once
// rendered (ps of 1,000 containers: no thousand JSON rows held at once).
using RowSource = std::function<nlohmann::json(std::size_t)>;
Result<std::string> render_list(std::string_view format, std::size_t n, const RowSource& row,
                                const nlohmann::json& headers);

// `inspect -f`: the template over `data`, then "\n"; "json" is data as one
// line of JSON, then "\n".
Result<std::string> render_one(std::string_view format, const nlohmann::json& data);

}  // namespace hako::format
