"""Initial schema: users, stakeholders (organisations, people), activities, outreach, indicators.

Reviewed by hand: every enum is VARCHAR plus a named CHECK, every FK states ondelete.

Revision ID: d5d54c18e46c
Revises: 
Create Date: 2026-11-25 00:43:07.164066

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd5d54c18e46c'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
    sa.UniqueConstraint('name', name=op.f('uq_tags_name'))
    )
    op.create_table('topics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('name_zh', sa.String(length=80), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topics')),
    sa.UniqueConstraint('name', name=op.f('uq_topics_name'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.Enum('viewer', 'member', 'coordinator', 'manager', 'admin', name='user_role', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('is_enabled', sa.Boolean(), nullable=False),
    sa.Column('locale', sa.Enum('en', 'zh', name='user_locale', native_enum=False, create_constraint=True, length=8), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('calendar_token', sa.String(length=64), nullable=True),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_users_email_lowercase')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('calendar_token', name=op.f('uq_users_calendar_token')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type', sa.Enum('training', 'forum', 'mou', 'research', 'dialogue', 'webinar', 'awareness', 'other', name='activity_type', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('title_zh', sa.String(length=200), nullable=True),
    sa.Column('title_pinyin', sa.String(length=600), nullable=True),
    sa.Column('status', sa.Enum('planned', 'held', 'cancelled', name='activity_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('end_on', sa.Date(), nullable=True),
    sa.Column('city', sa.String(length=80), nullable=True),
    sa.Column('sector', sa.Enum('electronics', 'textile', 'both', 'cross_sector', name='activity_sector', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('agreement_status', sa.Enum('draft', 'negotiating', 'signed', 'expired', 'terminated', name='agreement_status', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('publication', sa.String(length=500), nullable=True),
    sa.Column('unnamed_women', sa.Integer(), nullable=False),
    sa.Column('unnamed_men', sa.Integer(), nullable=False),
    sa.Column('unnamed_unspecified', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('end_on IS NULL OR end_on >= start_on', name=op.f('ck_activities_end_after_start')),
    sa.CheckConstraint('expires_on IS NULL OR signed_on IS NULL OR expires_on > signed_on', name=op.f('ck_activities_expires_after_signed')),
    sa.CheckConstraint('unnamed_women >= 0 AND unnamed_men >= 0 AND unnamed_unspecified >= 0', name=op.f('ck_activities_headcounts_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_activities_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_id'], ['users.id'], name=op.f('fk_activities_lead_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activities_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_start_on'), ['start_on'], unique=False)
        batch_op.create_index('ix_activities_type_start', ['type', 'start_on'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('token_hash', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.Enum('create', 'update', 'delete', 'restore', 'purge', 'merge', 'export', name='audit_action', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('entity_type', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index('ix_audit_events_entity', ['entity_type', 'entity_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('indicators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_zh', sa.String(length=300), nullable=True),
    sa.Column('unit', sa.String(length=60), nullable=False),
    sa.Column('metric', sa.Enum('enterprises_trained', 'officials_trained', 'participants_trained', 'forums_held', 'mous_signed', 'research_published', 'stakeholders_engaged', name='metric', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('disaggregations', sa.JSON(), nullable=False),
    sa.Column('baseline', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('baseline_year', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_indicators_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicators'))
    )
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicators_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_indicators_deleted_at'), ['deleted_at'], unique=False)

    op.create_table('stakeholders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('organisation', 'person', name='stakeholder_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('chinese_name', sa.String(length=200), nullable=True),
    sa.Column('name_pinyin', sa.String(length=600), nullable=True),
    sa.Column('name_initials', sa.String(length=200), nullable=True),
    sa.Column('sort_name', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('engagement_level', sa.Enum('unaware', 'aware', 'engaged', 'committed', 'champion', name='engagement_level', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('influence', sa.SmallInteger(), nullable=False),
    sa.Column('interest', sa.SmallInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('influence BETWEEN 1 AND 5', name=op.f('ck_stakeholders_influence_range')),
    sa.CheckConstraint('interest BETWEEN 1 AND 5', name=op.f('ck_stakeholders_interest_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_stakeholders_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_stakeholders_owner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stakeholders'))
    )
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stakeholders_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stakeholders_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index('ix_stakeholders_kind_deleted_name', ['kind', 'deleted_at', 'sort_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_stakeholders_owner_id'), ['owner_id'], unique=False)

    op.create_table('activity_topics',
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_activity_topics_activity_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_activity_topics_topic_id_topics'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('activity_id', 'topic_id', name=op.f('pk_activity_topics'))
    )
    with op.batch_alter_table('activity_topics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_topics_topic_id'), ['topic_id'], unique=False)

    op.create_table('indicator_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('target', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], name=op.f('fk_indicator_targets_indicator_id_indicators'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_targets')),
    sa.UniqueConstraint('indicator_id', 'year', name='uq_indicator_year')
    )
    with op.batch_alter_table('indicator_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicator_targets_indicator_id'), ['indicator_id'], unique=False)

    op.create_table('interactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.Enum('meeting', 'call', 'email', 'wechat', 'visit', 'video_call', 'event', 'letter', 'other', name='channel', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('direction', sa.Enum('outbound', 'inbound', name='direction', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('activity_id', sa.Integer(), nullable=True),
    sa.Column('is_confidential', sa.Boolean(), nullable=False),
    sa.Column('logged_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_interactions_activity_id_activities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_interactions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['logged_by_id'], ['users.id'], name=op.f('fk_interactions_logged_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interactions'))
    )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interactions_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index('ix_interactions_deleted_occurred', ['deleted_at', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_logged_by_id'), ['logged_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_type', sa.Enum('enterprise', 'government', 'industry_body', 'trade_union', 'ngo', 'academic', 'international', 'other', name='org_type', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('sector', sa.Enum('electronics', 'textile', 'both', 'cross_sector', name='sector', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('ownership', sa.Enum('state_owned', 'private', 'foreign_invested', 'joint_venture', 'not_applicable', name='ownership', native_enum=False, create_constraint=True, length=24), nullable=True),
    sa.Column('size_band', sa.Enum('micro', 'small', 'medium', 'large', 'unknown', name='size_band', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('supply_chain_role', sa.Enum('brand_buyer', 'tier1_supplier', 'tier2_supplier', 'not_applicable', name='supply_chain_role', native_enum=False, create_constraint=True, length=24), nullable=True),
    sa.Column('province', sa.String(length=60), nullable=True),
    sa.Column('city', sa.String(length=80), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('website', sa.String(length=300), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['id'], ['stakeholders.id'], name=op.f('fk_organisations_id_stakeholders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['organisations.id'], name=op.f('fk_organisations_parent_id_organisations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations'))
    )
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisations_org_type'), ['org_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisations_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisations_province'), ['province'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisations_sector'), ['sector'], unique=False)

    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('family_name', sa.String(length=80), nullable=True),
    sa.Column('given_name', sa.String(length=80), nullable=True),
    sa.Column('gender', sa.Enum('female', 'male', 'other', 'undisclosed', name='gender', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('job_title', sa.String(length=120), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('wechat_id', sa.String(length=60), nullable=True),
    sa.Column('preferred_language', sa.Enum('en', 'zh', name='preferred_language', native_enum=False, create_constraint=True, length=8), nullable=True),
    sa.Column('consent', sa.Enum('given', 'withdrawn', 'unknown', name='consent', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('consent_on', sa.Date(), nullable=True),
    sa.Column('consent_source', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['id'], ['stakeholders.id'], name=op.f('fk_people_id_stakeholders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people'))
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_people_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_people_phone'), ['phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_people_wechat_id'), ['wechat_id'], unique=False)

    op.create_table('relationships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.Enum('member_of', 'subsidiary_of', 'supplier_to', 'supervised_by', 'partner_of', 'reports_to', 'other', name='relationship_type', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=True),
    sa.Column('end_on', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('end_on IS NULL OR start_on IS NULL OR end_on >= start_on', name=op.f('ck_relationships_end_after_start')),
    sa.CheckConstraint('source_id <> target_id', name=op.f('ck_relationships_not_self')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_relationships_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_id'], ['stakeholders.id'], name=op.f('fk_relationships_source_id_stakeholders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['stakeholders.id'], name=op.f('fk_relationships_target_id_stakeholders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relationships'))
    )
    with op.batch_alter_table('relationships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_relationships_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_relationships_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_relationships_source_id'), ['source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_relationships_target_id'), ['target_id'], unique=False)

    op.create_table('stakeholder_tags',
    sa.Column('stakeholder_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['stakeholder_id'], ['stakeholders.id'], name=op.f('fk_stakeholder_tags_stakeholder_id_stakeholders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_stakeholder_tags_tag_id_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('stakeholder_id', 'tag_id', name=op.f('pk_stakeholder_tags'))
    )
    with op.batch_alter_table('stakeholder_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stakeholder_tags_tag_id'), ['tag_id'], unique=False)

    op.create_table('activity_parties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('host', 'co_organiser', 'partner', 'sponsor', 'signatory', 'participant', name='party_role', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_activity_parties_activity_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_activity_parties_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_parties')),
    sa.UniqueConstraint('activity_id', 'organisation_id', 'role', name='uq_activity_party')
    )
    with op.batch_alter_table('activity_parties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_parties_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_parties_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('affiliations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=True),
    sa.Column('start_on', sa.Date(), nullable=True),
    sa.Column('end_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('end_on IS NULL OR start_on IS NULL OR end_on >= start_on', name=op.f('ck_affiliations_end_after_start')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_affiliations_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_affiliations_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_affiliations_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_affiliations'))
    )
    with op.batch_alter_table('affiliations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_affiliations_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_affiliations_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index('ix_affiliations_org_end', ['organisation_id', 'end_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_affiliations_person_id'), ['person_id'], unique=False)

    op.create_table('follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('priority', sa.Enum('low', 'normal', 'high', name='priority', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('status', sa.Enum('open', 'done', 'cancelled', name='follow_up_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=False),
    sa.Column('stakeholder_id', sa.Integer(), nullable=True),
    sa.Column('interaction_id', sa.Integer(), nullable=True),
    sa.Column('activity_id', sa.Integer(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by_id', sa.Integer(), nullable=True),
    sa.Column('completion_note', sa.Text(), nullable=True),
    sa.Column('reminder_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("completed_at IS NULL OR status = 'done'", name=op.f('ck_follow_ups_completed_only_when_done')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_follow_ups_activity_id_activities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_follow_ups_assignee_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['completed_by_id'], ['users.id'], name=op.f('fk_follow_ups_completed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_follow_ups_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_follow_ups_interaction_id_interactions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['stakeholder_id'], ['stakeholders.id'], name=op.f('fk_follow_ups_stakeholder_id_stakeholders'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups'))
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_ups_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index('ix_follow_ups_assignee_status_due', ['assignee_id', 'status', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_completed_by_id'), ['completed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_interaction_id'), ['interaction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_stakeholder_id'), ['stakeholder_id'], unique=False)

    op.create_table('interaction_staff',
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_interaction_staff_interaction_id_interactions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_interaction_staff_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('interaction_id', 'user_id', name=op.f('pk_interaction_staff'))
    )
    with op.batch_alter_table('interaction_staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_staff_user_id'), ['user_id'], unique=False)

    op.create_table('interaction_stakeholders',
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('stakeholder_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_interaction_stakeholders_interaction_id_interactions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stakeholder_id'], ['stakeholders.id'], name=op.f('fk_interaction_stakeholders_stakeholder_id_stakeholders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('interaction_id', 'stakeholder_id', name=op.f('pk_interaction_stakeholders'))
    )
    with op.batch_alter_table('interaction_stakeholders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_stakeholders_stakeholder_id'), ['stakeholder_id'], unique=False)

    op.create_table('participations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('invited', 'registered', 'attended', 'no_show', name='participation_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('role', sa.Enum('participant', 'speaker', 'trainer', name='participation_role', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_participations_activity_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_participations_organisation_id_organisations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_participations_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participations')),
    sa.UniqueConstraint('activity_id', 'person_id', name='uq_participation_person')
    )
    with op.batch_alter_table('participations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participations_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_participations_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_participations_person_id'), ['person_id'], unique=False)



def downgrade():
    with op.batch_alter_table('participations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participations_person_id'))
        batch_op.drop_index(batch_op.f('ix_participations_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_participations_activity_id'))

    op.drop_table('participations')
    with op.batch_alter_table('interaction_stakeholders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interaction_stakeholders_stakeholder_id'))

    op.drop_table('interaction_stakeholders')
    with op.batch_alter_table('interaction_staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interaction_staff_user_id'))

    op.drop_table('interaction_staff')
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_ups_stakeholder_id'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_interaction_id'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_deleted_at'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_completed_by_id'))
        batch_op.drop_index('ix_follow_ups_assignee_status_due')
        batch_op.drop_index(batch_op.f('ix_follow_ups_activity_id'))

    op.drop_table('follow_ups')
    with op.batch_alter_table('affiliations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_affiliations_person_id'))
        batch_op.drop_index('ix_affiliations_org_end')
        batch_op.drop_index(batch_op.f('ix_affiliations_deleted_at'))
        batch_op.drop_index(batch_op.f('ix_affiliations_created_by_id'))

    op.drop_table('affiliations')
    with op.batch_alter_table('activity_parties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_parties_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_activity_parties_activity_id'))

    op.drop_table('activity_parties')
    with op.batch_alter_table('stakeholder_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stakeholder_tags_tag_id'))

    op.drop_table('stakeholder_tags')
    with op.batch_alter_table('relationships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_relationships_target_id'))
        batch_op.drop_index(batch_op.f('ix_relationships_source_id'))
        batch_op.drop_index(batch_op.f('ix_relationships_deleted_at'))
        batch_op.drop_index(batch_op.f('ix_relationships_created_by_id'))

    op.drop_table('relationships')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_people_wechat_id'))
        batch_op.drop_index(batch_op.f('ix_people_phone'))
        batch_op.drop_index(batch_op.f('ix_people_email'))

    op.drop_table('people')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisations_sector'))
        batch_op.drop_index(batch_op.f('ix_organisations_province'))
        batch_op.drop_index(batch_op.f('ix_organisations_parent_id'))
        batch_op.drop_index(batch_op.f('ix_organisations_org_type'))

    op.drop_table('organisations')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interactions_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_interactions_logged_by_id'))
        batch_op.drop_index('ix_interactions_deleted_occurred')
        batch_op.drop_index(batch_op.f('ix_interactions_deleted_at'))
        batch_op.drop_index(batch_op.f('ix_interactions_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_interactions_activity_id'))

    op.drop_table('interactions')
    with op.batch_alter_table('indicator_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indicator_targets_indicator_id'))

    op.drop_table('indicator_targets')
    with op.batch_alter_table('activity_topics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_topics_topic_id'))

    op.drop_table('activity_topics')
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stakeholders_owner_id'))
        batch_op.drop_index('ix_stakeholders_kind_deleted_name')
        batch_op.drop_index(batch_op.f('ix_stakeholders_deleted_at'))
        batch_op.drop_index(batch_op.f('ix_stakeholders_created_by_id'))

    op.drop_table('stakeholders')
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indicators_deleted_at'))
        batch_op.drop_index(batch_op.f('ix_indicators_created_by_id'))

    op.drop_table('indicators')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_occurred_at'))
        batch_op.drop_index('ix_audit_events_entity')
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_id'))

    op.drop_table('audit_events')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_type_start')
        batch_op.drop_index(batch_op.f('ix_activities_start_on'))
        batch_op.drop_index(batch_op.f('ix_activities_lead_id'))
        batch_op.drop_index(batch_op.f('ix_activities_deleted_at'))
        batch_op.drop_index(batch_op.f('ix_activities_created_by_id'))

    op.drop_table('activities')
    op.drop_table('users')
    op.drop_table('topics')
    op.drop_table('tags')
