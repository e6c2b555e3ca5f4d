// hako network create|ls|inspect|rm|prune|connect|disconnect, hako port,
// run's networking flags, and the resolver's hidden entry (__resolver).
#include <sys/prctl.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/hako/commands.hpp"
#include "common/digest.hpp"
#include "common/strings.hpp"
#include "net/resolver.hpp"

namespace hako::cli {

namespace {

using json = nlohmann::json;

json inspect_network(const frontend::NetworkDef& d, const std::vector<frontend::ContainerNet>& members) {
    json config = json::array();
    for (const auto& s : d.subnets) {
        json c{{"Subnet", s.subnet.str()}, {"Gateway", s.gateway.str()}};
        if (s.ip_range) c["IPRange"] = s.ip_range->str();
        config.push_back(c);
    }
    json ctrs = json::object();
    for (const auto& m : members)
        for (const auto& e : m.endpoints) {
            if (e.network != d.name) continue;
            ctrs[m.id] = {{"Name", m.name},
                          {"EndpointID", sha256_hex(m.id + " " + d.name)},
                          {"MacAddress", net::mac_str(e.mac)},
                          {"IPv4Address", e.ip4 && d.v4() ? e.ip4->str() + "/" + std::to_string(d.v4()->subnet.len) : ""},
                          {"IPv6Address", e.ip6 && d.v6() ? e.ip6->str() + "/" + std::to_string(d.v6()->subnet.len) : ""}};
        }
    json options = json::object();
    options["com.docker.network.bridge.name"] = d.bridge;
    if (d.mtu) options["com.docker.network.driver.mtu"] = std::to_string(d.mtu);
    for (const auto& [k, v] : d.options) options[k] = v;
    return {{"Name", d.name},
            {"Id", d.id},
            {"Created", d.created},
            {"Scope", "local"},
            {"Driver", d.driver},
            {"EnableIPv6", d.v6() != nullptr},
            {"IPAM", {{"Driver", "default"}, {"Options", json::object()}, {"Config", config}}},
            {"Internal", d.internal},
            {"Attachable", false},
            {"Ingress", false},
            {"ConfigFrom", {{"Network", ""}}},
            {"ConfigOnly", false},
            {"Containers", ctrs},
            {"Options", options},
            {"Labels", d.labels},
            {"DNSEnabled", d.dns}};
}

std::vector<int> fd_list(const std::string& s) {
    std::vector<int> out;
    for (auto p : split(s, ',')) out.push_back(std::stoi(std::string(p)));
    return out;
}

// Before any command that shows or changes networks: what dead owners left.
bool collect(HakoGlobals& g) {
    auto st = g.engine().networks().collect_garbage();
    if (!st) hako_fail(st.error());
    return static_cast<bool>(st);
}

}  // namespace

std::string ports_column(const frontend::ContainerNet& c) {
    std::string out;
    for (const auto& p : c.ports)
        out += (out.empty() ? "" : ", ") + p.host_str() + "->" + std::to_string(p.ctr_port) + "/" + net::proto_name(p.proto);
    return out;
}

json network_settings(frontend::Engine& e, const std::string& id) {
    json s{{"IPAddress", ""}, {"IPPrefixLen", 0}, {"Gateway", ""}, {"MacAddress", ""}, {"GlobalIPv6Address", ""},
           {"IPv6Gateway", ""}, {"Ports", json::object()}, {"Networks", json::object()}, {"SandboxKey", ""}};
    auto c = e.networks().container(id);
    if (!c || !*c) return s;
    const auto& cn = **c;
    s["SandboxKey"] = cn.netns;
    bool first = true;
    for (const auto& ep : cn.endpoints) {
        auto d = e.networks().get(ep.network);
        json n{{"NetworkID", d ? d->id : ""},
               {"EndpointID", sha256_hex(cn.id + " " + ep.network)},
               {"IPAddress", ep.ip4 ? ep.ip4->str() : ""},
               {"IPPrefixLen", d && d->v4() ? d->v4()->subnet.len : 0},
               {"Gateway", d && d->v4() ? d->v4()->gateway.str() : ""},
               {"GlobalIPv6Address", ep.ip6 ? ep.ip6->str() : ""},
               {"GlobalIPv6PrefixLen", d && d->v6() ? d->v6()->subnet.len : 0},
               {"IPv6Gateway", d && d->v6() ? d->v6()->gateway.str() : ""},
               {"MacAddress", net::mac_str(ep.mac)},
               {"Aliases", ep.aliases}};
        if (first)
            for (const char* k : {"IPAddress", "IPPrefixLen", "Gateway", "MacAddress", "GlobalIPv6Address", "IPv6Gateway"})
                s[k] = n[k];
        first = false;
        s["Networks"][ep.network] = n;
    }
    for (const auto& p : cn.ports) {
        std::string key = std::to_string(p.ctr_port) + "/" + net::proto_name(p.proto);
        if (!s["Ports"].contains(key)) s["Ports"][key] = json::array();
        s["Ports"][key].push_back({{"HostIp", p.host_ip ? p.host_ip->str() : "0.0.0.0"},
                                   {"HostPort", std::to_string(p.host_port)}});
    }
    return s;
}

void add_network_flags(CLI::App* sub, frontend::NetRequest& r) {
    sub->add_option("--network,--net", r.networks,
                    "Network: NAME, bridge (the default), none, host, container:NAME or ns:PATH (repeatable)")
        ->allow_extra_args(false);
    sub->add_option("--ip", r.ip, "IPv4 address on the (first) network");
    sub->add_option("--ip6", r.ip6, "IPv6 address on the (first) network");
    sub->add_option("--mac-address", r.mac, "MAC address on the (first) network");
    sub->add_option("--network-alias,--net-alias", r.aliases, "Another name for the container on its network")
        ->allow_extra_args(false);
    sub->add_option("--add-host", r.add_hosts, "A line for /etc/hosts: HOST:IP (or HOST:host-gateway)")
        ->allow_extra_args(false);
    sub->add_option("--dns", r.dns, "A name server for the container")->allow_extra_args(false);
    sub->add_option("--dns-search", r.dns_search, "A DNS search domain")->allow_extra_args(false);
    sub->add_option("--dns-option", r.dns_options, "A resolv.conf option (e.g. ndots:2)")->allow_extra_args(false);
    sub->add_option("-p,--publish", r.publish, "Publish a port: [HOSTIP:][HOSTPORT:]CPORT[/tcp|/udp]")
        ->allow_extra_args(false);
    sub->add_flag("-P,--publish-all", r.publish_all, "Publish the image's exposed ports on random host ports");
}

Result<json> network_json(frontend::Engine& e, const std::string& ref) {
    auto d = HAKO_TRY(e.networks().get(ref));
    auto members = HAKO_TRY(e.networks().members(d.name));
    return inspect_network(d, members);
}

void add_network_commands(CLI::App& app, HakoGlobals& g, HakoAction& action) {
    auto* net = app.add_subcommand("network", "Manage networks");
    net->require_subcommand(1);
    {
        auto* sub = net->add_subcommand("create", "Create a network");
        auto c = std::make_shared<frontend::NetworkCreate>();
        sub->add_option("name", c->name, "NAME")->required();
        sub->add_option("--subnet", c->subnets, "Subnet in CIDR form (one IPv4, one IPv6)")->allow_extra_args(false);
        sub->add_option("--gateway", c->gateways, "Gateway of the subnet (by position)")->allow_extra_args(false);
        sub->add_option("--ip-range", c->ip_ranges, "Allocate container addresses from this range")->allow_extra_args(false);
        sub->add_flag("--ipv6", c->ipv6, "Dual stack: an IPv6 subnet too (a ULA /64 unless given)");
        sub->add_flag("--internal", c->internal, "No way out of the network");
        sub->add_option("-o,--opt", c->options, "mtu=N, com.docker.network.bridge.name=NAME")->allow_extra_args(false);
        sub->add_option("--label", c->labels, "K=V")->allow_extra_args(false);
        sub->add_option("-d,--driver", c->driver, "Driver (bridge)");
        sub->callback([&g, &action, c] {
            action = [&g, c] {
                if (!collect(g)) return frontend::kExitEngine;
                auto d = g.engine().networks().create(*c);
                if (!d) return hako_fail(d.error());
                std::printf("%s\n", d->id.c_str());
                return 0;
            };
        });
    }
    {
        auto* sub = net->add_subcommand("ls", "List networks");
        sub->alias("list");
        auto quiet = std::make_shared<bool>(false), no_trunc = std::make_shared<bool>(false);
        auto format = std::make_shared<std::string>();
        auto filters = std::make_shared<std::vector<std::string>>();
        sub->add_flag("-q,--quiet", *quiet, "Only display network IDs");
        sub->add_flag("--no-trunc", *no_trunc, "Do not truncate the output");
        sub->add_option("--format", *format, "Format output using a Go template, or json");
        sub->add_option("-f,--filter", *filters, "Provide filter values (name, id, driver, label)")->allow_extra_args(false);
        sub->callback([&g, &action, quiet, format, filters, no_trunc] {
            action = [&g, quiet, format, filters, no_trunc] {
                if (!collect(g)) return frontend::kExitEngine;
                auto list = g.engine().networks().list();
                if (!list) return hako_fail(list.error());
                auto f = parse_filters(*filters, {"name", "id", "driver", "label"}, "network ls");
                if (!f) return hako_fail(f.error());
                std::vector<json> rows;
                for (const auto& d : *list) {
                    auto pass = [&](const char* key, const std::function<bool(const std::string&)>& test) {
                        return filter_any(*f, key, test);
                    };
                    auto [llo, lhi] = f->equal_range("label");
                    bool labels_ok = true;
                    for (auto it = llo; it != lhi; ++it) labels_ok = labels_ok && label_matches(d.labels, it->second);
                    if (!labels_ok || !pass("name", [&](const std::string& n) { return d.name.find(n) != std::string::npos; }) ||
                        !pass("id", [&](const std::string& id) { return d.id.rfind(id, 0) == 0; }) ||
                        !pass("driver", [&](const std::string& dr) { return d.driver == dr; }))
                        continue;
                    if (*format == "json") {
                        rows.push_back(inspect_network(d, g.engine().networks().members(d.name).value_or(std::vector<frontend::ContainerNet>{})));
                        continue;
                    }
                    std::string labels;
                    for (const auto& [k, v] : d.labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
                    rows.push_back({{"ID", *no_trunc ? d.id : d.id.substr(0, 12)}, {"Name", d.name}, {"Driver", d.driver},
                                    {"Scope", "local"}, {"IPv6", d.ipv6}, {"Internal", d.internal}, {"Labels", labels},
                                    {"CreatedAt", d.created}});
                }
                if (*quiet) {
                    for (const auto& r : rows) std::printf("%s\n", r["ID"].get<std::string>().c_str());
                    return 0;
                }
                static const json kHeaders{{"ID", "NETWORK ID"}, {"Name", "NAME"}, {"Driver", "DRIVER"}, {"Scope", "SCOPE"},
                                           {"IPv6", "IPV6"}, {"Internal", "INTERNAL"}, {"Labels", "LABELS"}, {"CreatedAt", "CREATED AT"}};
                return print_rows(*format, rows, kHeaders, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}");
            };
        });
    }
    {
        auto* sub = net->add_subcommand("inspect", "Display detailed information on one or more networks");
        auto refs = std::make_shared<std::vector<std::string>>();
        auto format = std::make_shared<std::string>();
        sub->add_option("-f,--format", *format, "Format output using a Go template");
        sub->add_option("name", *refs, "NETWORK...")->required();
        sub->callback([&g, &action, refs, format] {
            action = [&g, refs, format] {
                if (!collect(g)) return frontend::kExitEngine;
                std::vector<json> arr;
                for (const auto& r : *refs) {
                    auto d = g.engine().networks().get(r);
                    if (!d) return hako_fail(d.error());
                    auto members = g.engine().networks().members(d->name);
                    if (!members) return hako_fail(members.error());
                    arr.push_back(inspect_network(*d, *members));
                }
                return print_inspect(*format, arr);
            };
        });
    }
    {
        auto* sub = net->add_subcommand("rm", "Remove networks");
        sub->alias("remove");
        auto refs = std::make_shared<std::vector<std::string>>();
        sub->add_option("name", *refs, "NETWORK...")->required();
        sub->callback([&g, &action, refs] {
            action = [&g, refs] {
                int rc = 0;
                for (const auto& r : *refs) {
                    auto st = g.engine().networks().remove(r);
                    if (!st) rc = hako_fail(st.error());
                    else std::printf("%s\n", r.c_str());
                }
                return rc;
            };
        });
    }
    {
        auto* sub = net->add_subcommand("prune", "Remove every network no container uses");
        auto force = std::make_shared<bool>(false);  // (docker's -f: there is no prompt)
        sub->add_flag("-f,--force", *force, "Do not prompt");
        sub->callback([&g, &action, force] {
            action = [&g] {
                if (!collect(g)) return frontend::kExitEngine;
                auto gone = g.engine().networks().prune();
                if (!gone) return hako_fail(gone.error());
                if (!gone->empty()) std::printf("Deleted Networks:\n");
                for (const auto& n : *gone) std::printf("%s\n", n.c_str());
                return 0;
            };
        });
    }
    for (bool connect : {true, false}) {
        auto* sub = net->add_subcommand(connect ? "connect" : "disconnect",
                                        connect ? "Connect a running container to a network"
                                                : "Disconnect a container from a network");
        auto network = std::make_shared<std::string>(), ctr = std::make_shared<std::string>();
        auto ip = std::make_shared<std::string>();
        auto aliases = std::make_shared<std::vector<std::string>>();
        auto force = std::make_shared<bool>(false);
        sub->add_option("network", *network, "NETWORK")->required();
        sub->add_option("container", *ctr, "CONTAINER")->required();
        if (connect) {
            sub->add_option("--ip,--ip6", *ip, "Its address on the network");
            sub->add_option("--alias", *aliases, "Another name for it on the network")->allow_extra_args(false);
        } else {
            sub->add_flag("-f,--force", *force, "(accepted for docker's sake)");
        }
        sub->callback([&g, &action, connect, network, ctr, ip, aliases, force] {
            action = [&g, connect, network, ctr, ip, aliases] {
                auto v = g.engine().find(*ctr);
                if (!v) return hako_fail(v.error());
                if (connect && !v->active())
                    return hako_fail(Error{0, "container `" + *ctr + "` is " + v->status + ", not running"});
                auto st = connect ? g.engine().networks().connect(*network, v->record.id, *ip, *aliases)
                                  : g.engine().networks().disconnect(*network, v->record.id);
                return st ? 0 : hako_fail(st.error());
            };
        });
    }
    {
        auto* sub = app.add_subcommand("port", "List a container's published ports");
        auto ctr = std::make_shared<std::string>(), which = std::make_shared<std::string>();
        sub->add_option("container", *ctr, "CONTAINER")->required();
        sub->add_option("port", *which, "PRIVATE_PORT[/PROTO]");
        sub->callback([&g, &action, ctr, which] {
            action = [&g, ctr, which] {
                auto v = g.engine().find(*ctr);
                if (!v) return hako_fail(v.error());
                auto c = g.engine().networks().container(v->record.id);
                if (!c) return hako_fail(c.error());
                std::string want = *which;
                if (!want.empty() && want.find('/') == std::string::npos) want += "/tcp";
                bool any = false;
                if (*c)
                    for (const auto& p : (*c)->ports) {
                        std::string key = std::to_string(p.ctr_port) + "/" + net::proto_name(p.proto);
                        if (!want.empty() && key != want) continue;
                        any = true;
                        if (want.empty()) std::printf("%s -> %s\n", key.c_str(), p.host_str().c_str());
                        else std::printf("%s\n", p.host_str().c_str());
                    }
                if (!want.empty() && !any)
                    return hako_fail(Error{0, "no public port `" + want + "` published for " + *ctr});
                return 0;
            };
        });
    }
    {
        // A network's resolver (src/net/resolver): started by hako, not for people.
        auto* sub = app.add_subcommand("__resolver", "");
        sub->group("");
        auto cfg = std::make_shared<net::ResolverConfig>();
        auto udp = std::make_shared<std::string>(), tcp = std::make_shared<std::string>();
        sub->add_option("--names", cfg->names_file)->required();
        sub->add_option("--udp", *udp);
        sub->add_option("--tcp", *tcp);
        sub->callback([&action, cfg, udp, tcp] {
            action = [cfg, udp, tcp]() -> int {
                prctl(PR_SET_NAME, "hako-resolver", 0, 0, 0);  // (not "exe": /proc/self/exe started it)
                if (!udp->empty()) cfg->udp_fds = fd_list(*udp);
                if (!tcp->empty()) cfg->tcp_fds = fd_list(*tcp);
                net::run_resolver(*cfg);
            };
        });
    }
}

}  // namespace hako::cli
