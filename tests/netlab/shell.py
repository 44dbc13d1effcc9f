"""Build the lab by hand for debugging: `sudo .venv/bin/python -m tests.netlab.shell [COUNCIL...]`.

Prints the namespaces and example commands, then waits for Enter and tears everything down.
`--collector` also starts the product's collector in the Internet namespace."""

from __future__ import annotations

import sys

from .lab import build_world, new_lab, start_collector


def main(argv: list[str]) -> int:
    with_collector = "--collector" in argv
    only = [a for a in argv if not a.startswith("--")] or None
    lab = new_lab()
    try:
        world = build_world(lab, only)
        if with_collector:
            print("collector token:", start_collector(world))
        print("workdir (configs, logs):", lab.workdir)
        print("Internet namespace:", world.net.ns)
        for name, council in world.councils.items():
            print(f"{name}: gateway {council.gw}  clients {' '.join(council.clients)}")
        first = next(iter(world.councils.values()), None)
        if first is not None:
            print("\ntry:\n  ip netns exec", first.clients[0], "curl --cacert",
                  world.stores["public"], "https://www.gov.uk/")
        input("\nPress Enter to tear the lab down... ")
    finally:
        lab.close()
        left = lab.leftovers()
        print("left behind:", left or "nothing", f"(configs and logs stay in {lab.workdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
