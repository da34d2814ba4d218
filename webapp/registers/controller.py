"""The platform's own record of processing activities (GDPR Art. 30(1)), as data.

Parvis is the controller of these activities (its clients' staff accounts, billing, security
logs, the processor-duty records); the tenants' participant data is processed on their behalf
and belongs in the per-tenant processor register (Art. 30(2)), not here. The record is kept in
this module so a change to it is reviewed like code; the operator pages and the CSV export
read it from here. Each text exists in French and English.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from flask_babel import lazy_gettext as _l


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

ACTIVITIES: tuple[Activity, ...] = (
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
            "Empreinte du jeton de session, dates de début, d'expiration et de révocation ; "
            "échecs de connexion sous forme d'empreinte à clé de l'adresse e-mail ou de "
            "l'adresse IP ; adresse IP et horodatage des connexions.",
            "Hash of the session token, start, expiry and revocation times; failed sign-ins "
            "as a keyed hash of the e-mail or IP address; IP address and time of sign-ins."),
        recipients=Text("Opérateurs habilités de Parvis ; autorités judiciaires sur "
                        "réquisition.",
                        "Authorised Parvis operators; judicial authorities on legal request."),
        transfers=NO_TRANSFER,
        retention=Text(
            "Sessions : jusqu'à leur expiration ou déconnexion ; échecs de connexion : durée "
            "de la fenêtre de limitation ; journaux de connexion : 12 mois au plus.",
            "Sessions: until they expire or the user signs out; failed sign-ins: the "
            "throttling window; connection logs: 12 months at most."),
        security=Text(
            "Seules des empreintes des jetons et des clés de limitation sont stockées ; accès "
            "réservé aux opérateurs ; " + COMMON_SECURITY.fr[0].lower() + COMMON_SECURITY.fr[1:],
            "Only hashes of tokens and throttling keys are stored; access restricted to "
            "operators; " + COMMON_SECURITY.en[0].lower() + COMMON_SECURITY.en[1:]),
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


def rows(language: str) -> list[list[str]]:
    """The register as a table: one row per activity, columns in ``HEADINGS`` order."""
    return [[getattr(activity, name)(language) for name in HEADINGS] for activity in ACTIVITIES]
