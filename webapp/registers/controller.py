"""The platform's own record of processing activities (GDPR Art. 30(1)), as data.

Parvis is the controller of these activities (its clients' staff accounts, billing, security
logs, the processor-duty records); the tenants' participant data is processed on their behalf
and belongs in the per-tenant processor register (Art. 30(2)), not here. The record is kept in
this module so a change to it is reviewed like code; the operator pages and the CSV export
read it from here. Each text exists in French and English.

The security logs are generated rather than written (``security_logs``): their data categories
from the columns of the sign-in tables, their retention from the operators' setting and the
session and throttling settings (``webapp.retention.services.facts``), so the register says
what is stored and for how long, and a change of either is a new version of the register.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from flask_babel import lazy_gettext as _l

from webapp.retention.services import SignInFacts


@dataclass(frozen=True)
class Text:
    fr: str
    en: str

    def __call__(self, language: str) -> str:
        return self.en if language == "en" else self.fr


@dataclass(frozen=True)
class Activity:
    name: Text
    purposes: Text
    legal_basis: Text
    data_subjects: Text
    data_categories: Text
    recipients: Text
    transfers: Text
    retention: Text
    security: Text


# Column headings, in the order of Activity's fields.
HEADINGS = {
    "name": _l("Processing activity"),
    "purposes": _l("Purposes"),
    "legal_basis": _l("Legal basis"),
    "data_subjects": _l("Data subjects"),
    "data_categories": _l("Data categories"),
    "recipients": _l("Recipients"),
    "transfers": _l("Transfers outside the EU"),
    "retention": _l("Retention"),
    "security": _l("Security measures"),
}
assert list(HEADINGS) == [f.name for f in fields(Activity)]

NO_TRANSFER = Text("Aucun : données hébergées et traitées en France (Union européenne).",
                   "None: data hosted and processed in France (European Union).")
COMMON_SECURITY = Text(
    "Hébergement en France ; TLS ; contrôle d'accès par rôle ; double authentification "
    "obligatoire pour les opérateurs ; sauvegardes chiffrées ; journalisation des accès.",
    "Hosting in France; TLS; role-based access control; two-factor authentication mandatory "
    "for operators; encrypted backups; access logging.")

STATIC: tuple[Activity, ...] = (
    Activity(
        name=Text("Comptes des membres des organisations clientes et des opérateurs",
                  "Accounts of client organisations' members and of operators"),
        purposes=Text(
            "Donner aux membres l'accès à l'espace de leur organisation selon leur rôle "
            "(propriétaire, administrateur, gestionnaire, modérateur, lecteur) ; donner aux "
            "opérateurs de Parvis l'accès à la console ; envoyer les e-mails liés au compte.",
            "Give members access to their organisation's space according to their role "
            "(owner, admin, manager, moderator, viewer); give Parvis operators access to the "
            "console; send account-related e-mails."),
        legal_basis=Text(
            "Exécution du contrat avec l'organisation cliente (art. 6.1.b) et intérêt légitime "
            "de Parvis à sécuriser l'accès au service (art. 6.1.f).",
            "Performance of the contract with the client organisation (Art. 6(1)(b)) and "
            "Parvis's legitimate interest in securing access to the service (Art. 6(1)(f))."),
        data_subjects=Text("Membres des équipes des organisations clientes ; opérateurs de "
                           "Parvis.",
                           "Staff members of client organisations; Parvis operators."),
        data_categories=Text(
            "Adresse e-mail, nom affiché, empreinte argon2id du mot de passe, langue, rôle "
            "d'opérateur, appartenances et rôles par organisation, dates de création et de "
            "modification.",
            "E-mail address, display name, argon2id password hash, language, operator role, "
            "memberships and roles per organisation, creation and update dates."),
        recipients=Text(
            "Opérateurs habilités de Parvis ; propriétaires et administrateurs de "
            "l'organisation pour la liste de ses membres ; service d'envoi des e-mails "
            "transactionnels (sous-traitant).",
            "Authorised Parvis operators; the organisation's owners and admins for its list of "
            "members; the transactional e-mail service (sub-processor)."),
        transfers=NO_TRANSFER,
        retention=Text(
            "Pendant la durée du compte ; suppression dans les 30 jours suivant sa clôture ou "
            "la fin de la dernière appartenance.",
            "For as long as the account exists; deleted within 30 days of its closure or of the "
            "end of its last membership."),
        security=COMMON_SECURITY,
    ),
    Activity(
        name=Text("Abonnements et facturation", "Subscriptions and billing"),
        purposes=Text(
            "Gérer les abonnements et les essais, encaisser les paiements, émettre les "
            "factures, tenir la comptabilité, traiter les impayés.",
            "Manage subscriptions and trials, collect payments, issue invoices, keep the "
            "accounts, handle failed payments."),
        legal_basis=Text(
            "Exécution du contrat (art. 6.1.b) ; obligation légale de conservation des "
            "factures (art. 6.1.c, Code de commerce L123-22).",
            "Performance of the contract (Art. 6(1)(b)); legal obligation to keep invoices "
            "(Art. 6(1)(c), French Commercial Code L123-22)."),
        data_subjects=Text("Propriétaires et contacts de facturation des organisations "
                           "clientes.",
                           "Owners and billing contacts of client organisations."),
        data_categories=Text(
            "Nom, adresse e-mail de facturation, adresse postale, numéro de TVA, offre "
            "souscrite, factures, état des paiements. Les données de carte sont saisies chez "
            "le prestataire de paiement et ne sont jamais reçues par Parvis.",
            "Name, billing e-mail, postal address, VAT number, plan, invoices, payment status. "
            "Card data is entered at the payment provider and never received by Parvis."),
        recipients=Text(
            "Opérateurs habilités de Parvis ; prestataire de paiement (Stripe) ; expert-"
            "comptable ; administration fiscale sur demande.",
            "Authorised Parvis operators; payment provider (Stripe); chartered accountant; "
            "tax authorities on request."),
        transfers=Text(
            "Prestataire de paiement établi en Irlande ; transferts éventuels vers sa maison "
            "mère aux États-Unis encadrés par des clauses contractuelles types.",
            "Payment provider established in Ireland; possible transfers to its parent "
            "company in the United States covered by standard contractual clauses."),
        retention=Text(
            "Factures et leurs mentions d'identité : 10 ans à compter de leur émission ; autres "
            "données : durée du contrat puis 5 ans (prescription, Code civil art. 2224).",
            "Invoices and their identity fields: 10 years from issue; other data: the contract "
            "then 5 years (limitation period, French Civil Code art. 2224)."),
        security=COMMON_SECURITY,
    ),
    Activity(
        name=Text("Accords de sous-traitance et avis de sous-traitants ultérieurs",
                  "Processing agreements and sub-processor notices"),
        purposes=Text(
            "Prouver l'acceptation de l'accord de traitement des données par chaque "
            "organisation ; informer les organisations des changements de sous-traitants "
            "ultérieurs et recueillir leurs objections (art. 28.2 et 28.4).",
            "Prove each organisation's acceptance of the data processing agreement; inform "
            "organisations of sub-processor changes and record their objections "
            "(Art. 28(2) and 28(4))."),
        legal_basis=Text("Obligation légale (art. 6.1.c, art. 28 du RGPD).",
                         "Legal obligation (Art. 6(1)(c), GDPR Art. 28)."),
        data_subjects=Text("Propriétaires des organisations clientes.",
                           "Owners of client organisations."),
        data_categories=Text(
            "Organisation, version acceptée, compte et adresse e-mail de l'auteur, date, "
            "empreinte SHA-256 du texte lu ; objections : auteur, date et raison donnée.",
            "Organisation, accepted version, account and e-mail address of who accepted, "
            "time, SHA-256 of the text read; objections: author, time and reason given."),
        recipients=Text(
            "Équipe protection des données et administrateurs de Parvis ; propriétaires et "
            "administrateurs de l'organisation ; service d'envoi des e-mails transactionnels.",
            "Parvis's data protection team and admins; the organisation's owners and admins; "
            "the transactional e-mail service."),
        transfers=NO_TRANSFER,
        retention=Text("Durée du contrat puis 5 ans (prescription).",
                       "The contract then 5 years (limitation period)."),
        security=COMMON_SECURITY,
    ),
)


# --- the security logs, generated from what is stored ------------------------------------------

# What each column of the sign-in tables holds (``webapp.auth.models``). A column missing here
# stops the register from being built (``UndescribedColumn``): what is stored is always said.
SESSION_COLUMNS: dict[str, Text | None] = {
    "token_hash": Text("empreinte SHA-256 du jeton de session (le jeton lui-même n'est que "
                       "dans le cookie du navigateur)",
                       "SHA-256 hash of the session token (the token itself is only in the "
                       "browser's cookie)"),
    "account_id": Text("compte connecté", "the signed-in account"),
    "created_at": Text("date et heure de connexion", "time of sign-in"),
    "expires_at": Text("date et heure d'expiration", "expiry time"),
    "revoked_at": Text("date et heure de déconnexion ou de révocation",
                       "time of sign-out or revocation"),
}
FAILURE_COLUMNS: dict[str, Text | None] = {
    "id": None,  # a row number, nothing about anyone
    "key": Text("empreinte à clé (HMAC) de l'adresse e-mail saisie ou de l'adresse IP du "
                "client, jamais l'adresse en clair",
                "keyed hash (HMAC) of the e-mail address typed or of the client's IP address, "
                "never the address in clear"),
    "at": Text("date et heure de l'échec", "time of the failure"),
}


class UndescribedColumn(LookupError):
    """A sign-in table has a column the register does not describe."""


def _described(columns: tuple[str, ...], texts: dict[str, Text | None]) -> list[Text]:
    missing = [c for c in columns if c not in texts]
    if missing:
        raise UndescribedColumn(f"the register does not describe {missing}")
    return [text for c in columns if (text := texts[c]) is not None]


def _count(n: int, fr: tuple[str, str], en: tuple[str, str]) -> Text:
    return Text(f"{n} {fr[0] if n < 2 else fr[1]}", f"{n} {en[0] if n == 1 else en[1]}")


def _join(parts: list[Text], language: str) -> str:
    return ", ".join(part(language) for part in parts)


def security_logs(facts: SignInFacts) -> Activity:
    """The sign-in records as they are: the columns stored, the session lifetime and the
    retention the operators set (``webapp.retention.services``)."""
    sessions = _described(facts.session_columns, SESSION_COLUMNS)
    failures = _described(facts.failure_columns, FAILURE_COLUMNS)
    months = _count(facts.months, ("mois", "mois"), ("month", "months"))
    hours = _count(facts.session_hours, ("heure", "heures"), ("hour", "hours"))
    minutes = _count(facts.failure_minutes, ("minute", "minutes"), ("minute", "minutes"))
    return Activity(
        name=Text("Journaux de sécurité et sessions de connexion",
                  "Security logs and sign-in sessions"),
        purposes=Text(
            "Authentifier les connexions, limiter les tentatives de connexion, détecter et "
            "analyser les incidents de sécurité.",
            "Authenticate sign-ins, throttle sign-in attempts, detect and investigate security "
            "incidents."),
        legal_basis=Text("Intérêt légitime de Parvis à assurer la sécurité du service "
                         "(art. 6.1.f) ; obligation de sécurité (art. 32).",
                         "Parvis's legitimate interest in keeping the service secure "
                         "(Art. 6(1)(f)); security obligation (Art. 32)."),
        data_subjects=Text("Membres, opérateurs et toute personne qui tente de se connecter.",
                           "Members, operators and anyone who tries to sign in."),
        data_categories=Text(
            f"Sessions de connexion : {_join(sessions, 'fr')}. Échecs de connexion : "
            f"{_join(failures, 'fr')}.",
            f"Sign-in sessions: {_join(sessions, 'en')}. Failed sign-ins: "
            f"{_join(failures, 'en')}."),
        recipients=Text("Opérateurs habilités de Parvis ; autorités judiciaires sur "
                        "réquisition.",
                        "Authorised Parvis operators; judicial authorities on legal request."),
        transfers=NO_TRANSFER,
        retention=Text(
            f"Une session est valable {hours('fr')} au plus ; la déconnexion ou un changement "
            f"de mot de passe la révoque. Chaque session est conservée {months('fr')} après sa "
            f"fin (expiration ou révocation), puis supprimée par la purge quotidienne, qui en "
            f"garde un reçu. Échecs de connexion : comptés {minutes('fr')} (fenêtre de "
            f"limitation), puis supprimés au plus tard par la purge quotidienne suivante.",
            f"A session is valid for {hours('en')} at most; signing out or changing the "
            f"password revokes it. Each session is kept {months('en')} after it ended (expiry "
            f"or revocation), then deleted by the daily sweep, which keeps a receipt. Failed "
            f"sign-ins: counted for {minutes('en')} (the throttling window), then deleted by "
            f"the next daily sweep at the latest."),
        security=Text(
            "Seules des empreintes des jetons et des clés de limitation sont stockées ; accès "
            "réservé aux opérateurs ; " + COMMON_SECURITY.fr[0].lower() + COMMON_SECURITY.fr[1:],
            "Only hashes of tokens and throttling keys are stored; access restricted to "
            "operators; " + COMMON_SECURITY.en[0].lower() + COMMON_SECURITY.en[1:]),
    )


def activities(facts: SignInFacts) -> tuple[Activity, ...]:
    """Every activity, the security logs generated from what is stored (``facts``) and placed
    after the accounts."""
    return (STATIC[0], security_logs(facts), *STATIC[1:])


def rows(language: str, facts: SignInFacts) -> list[list[str]]:
    """The register as a table: one row per activity, columns in ``HEADINGS`` order."""
    return [[getattr(activity, name)(language) for name in HEADINGS]
            for activity in activities(facts)]
