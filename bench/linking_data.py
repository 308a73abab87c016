"""A noisy synthetic population of referrals with a ground truth of who is who.

Benign and synthetic: names from Faker (seeded), emails at example.com/.org/.net, phones from
Ofcom's drama ranges (each number given to one person at most, so the pool bounds how many
people have one), IPs from the documentation ranges. Noise: typos in names, missing fields,
households that share an address and surname, carrier-grade NAT addresses shared by many people
at the same time on different ports, people with two email addresses.

Used by the linking tests and ``bench/bench_linking.py``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from faker import Faker

from safeguard.referrals.linking import LinkRecord, Person, Strong

#: Ofcom drama ranges (E.164, 1,000 numbers each).
PHONE_BLOCKS = (
    "+447700900",
    "+442079460",
    "+441134960",
    "+441144960",
    "+441154960",
    "+441164960",
    "+441174960",
    "+441184960",
    "+441214960",
    "+441314960",
    "+441414960",
    "+441514960",
    "+441614960",
    "+441914980",
    "+441632960",
    "+442896496",
)
IP_PREFIXES = ("192.0.2.", "198.51.100.", "203.0.113.")
DOMAINS = ("example.com", "example.org", "example.net")
SERVICES = ("chatapp", "photoshare", "videohub", "forumly")


@dataclass(frozen=True)
class Settings:
    typo_rate: float = 0.06
    missing_name: float = 0.1
    missing_dob: float = 0.2
    missing_address: float = 0.3
    household_rate: float = 0.15
    cgnat_rate: float = 0.3
    mean_referrals: float = 1.8


@dataclass(frozen=True)
class _Human:
    pid: str
    first: str
    last: str
    dob: str
    address: str
    postcode: str
    emails: tuple[str, ...]
    phone: str | None
    accounts: tuple[tuple[str, str], ...]
    ip: str
    port: int | None


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    op = rng.randrange(3)
    if op == 0:
        return text[:i] + text[i + 1 :]
    if op == 1:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + rng.choice("aeiourstln") + text[i + 1 :]


def generate(
    n_referrals: int, seed: int = 7, settings: Settings | None = None
) -> tuple[list[LinkRecord], dict[str, str]]:
    """``n_referrals`` records and the truth (referral key -> person id)."""
    s = settings or Settings()
    rng = random.Random(seed)
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    phones = [f"{block}{i:03d}" for block in PHONE_BLOCKS for i in range(1000)]
    rng.shuffle(phones)
    humans: list[_Human] = []
    counts: list[int] = []
    total = 0
    start = datetime(2026, 1, 1, tzinfo=UTC)
    while total < n_referrals:
        n = min(1 + int(rng.expovariate(1 / (s.mean_referrals - 1))), n_referrals - total)
        pid = f"P{len(humans):07d}"
        if humans and rng.random() < s.household_rate:
            head = humans[rng.randrange(len(humans))]
            last, address, postcode = head.last, head.address, head.postcode
        else:
            last = fake.last_name()
            address = fake.street_address().replace("\n", " ").upper()
            postcode = fake.postcode().upper()
        first = fake.first_name()
        dob = fake.date_of_birth(minimum_age=18, maximum_age=80).isoformat()
        handle = f"{first}.{last}.{len(humans)}".lower().replace(" ", "").replace("'", "")
        emails = [f"{handle}@{rng.choice(DOMAINS)}"]
        if rng.random() < 0.3:
            emails.append(f"u{len(humans)}x{rng.randrange(10**6)}@{rng.choice(DOMAINS)}")
        phone = phones.pop() if phones and rng.random() < 0.5 else None
        accounts = tuple(
            (service, f"{service[:2]}{len(humans)}_{rng.randrange(10**6)}")
            for service in rng.sample(SERVICES, rng.randint(1, 2))
        )
        if rng.random() < s.cgnat_rate:
            # Carrier-grade NAT: a few public IPv4 addresses, one port per subscriber.
            ip = f"{rng.choice(IP_PREFIXES)}{rng.randrange(1, 4)}"
            port = 1024 + len(humans) % 64000
        else:
            ip, port = f"2001:db8:{len(humans) >> 16:x}:{len(humans) & 0xFFFF:x}::1", None
        humans.append(
            _Human(
                pid, first, last, dob, address, postcode, tuple(emails), phone, accounts, ip, port
            )
        )
        counts.append(n)
        total += n

    records: list[LinkRecord] = []
    truth: dict[str, str] = {}
    for h, n in zip(humans, counts, strict=True):
        if h.port is not None:  # CGNAT users crowd a few busy evenings
            session = start + timedelta(days=rng.randrange(0, 30), hours=20)
        else:
            session = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 300))
        for j in range(n):
            key = f"R{len(records):08d}"
            truth[key] = h.pid
            strong: list[Strong] = []
            if rng.random() < 0.65:
                strong.append(Strong("email", rng.choice(h.emails)))
            if h.phone and rng.random() < 0.4:
                strong.append(Strong("phone", h.phone))
            if rng.random() < 0.6:
                service, account = rng.choice(h.accounts)
                strong.append(Strong("esp_account", account, service=service))
            if rng.random() < 0.5:
                # One person's referrals often come from one upload session (minutes apart).
                at = session + timedelta(minutes=rng.randrange(0, 20) + j)
                strong.append(Strong("ip", h.ip, at=at, port=h.port))
            name_missing = rng.random() < s.missing_name and strong
            first = None if name_missing else h.first
            last = None if name_missing else h.last
            if first and rng.random() < s.typo_rate:
                first = _typo(rng, first)
            if last and rng.random() < s.typo_rate:
                last = _typo(rng, last)
            no_address = rng.random() < s.missing_address
            person = Person(
                first_name=first,
                last_name=last,
                dob=None if rng.random() < s.missing_dob else h.dob,
                address=None if no_address or rng.random() < 0.1 else h.address,
                postcode=None if no_address or rng.random() < 0.1 else h.postcode,
            )
            records.append(LinkRecord(key, tuple(strong), person))
    return records, truth
