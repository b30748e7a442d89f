import { jsonResponse, type SandboxResponse } from '../http.js';
import { type EntitySchema, evaluateFilter, parseFilter, parseSelect, validateFilter } from '../odata.js';
import { applySelect, collectionPage, type GraphCall, GraphError, requirePermission } from './context.js';
import type { DirectoryMember, Group, Mailbox } from './store.js';

const userPermissions = ['User.ReadBasic.All', 'User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All'];
const groupPermissions = [
  'GroupMember.Read.All',
  'Group.Read.All',
  'Group.ReadWrite.All',
  'Directory.Read.All',
];
/** Directory collections page by 100 and allow up to 999 per page. */
const directoryLimits = { defaultTop: 100, maxTop: 999 };

const userSchema: EntitySchema<Mailbox> = {
  typeName: 'microsoft.graph.user',
  properties: {
    mail: { type: 'Edm.String', get: (u) => u.address, ignoreCase: true },
    userPrincipalName: { type: 'Edm.String', get: (u) => u.address, ignoreCase: true },
    displayName: { type: 'Edm.String', get: (u) => u.displayName, ignoreCase: true },
    id: { type: 'Edm.String', get: (u) => u.userId },
  },
};
const groupSchema: EntitySchema<Group> = {
  typeName: 'microsoft.graph.group',
  properties: {
    mail: { type: 'Edm.String', get: (g) => g.address, ignoreCase: true },
    displayName: { type: 'Edm.String', get: (g) => g.displayName, ignoreCase: true },
    id: { type: 'Edm.String', get: (g) => g.id },
  },
};
const userProperties = ['id', 'displayName', 'mail', 'userPrincipalName', 'accountEnabled'] as const;
const groupProperties = [
  'id',
  'displayName',
  'mail',
  'mailEnabled',
  'securityEnabled',
  'groupTypes',
] as const;

function userJson(user: Mailbox): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.user',
    id: user.userId,
    displayName: user.displayName,
    mail: user.address,
    userPrincipalName: user.address,
    accountEnabled: true,
  };
}

function groupJson(group: Group): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.group',
    id: group.id,
    displayName: group.displayName,
    mail: group.address,
    mailEnabled: true,
    securityEnabled: false,
    groupTypes: [],
  };
}

function memberJson(member: DirectoryMember): Record<string, unknown> {
  switch (member.kind) {
    case 'user':
      return userJson(member.mailbox);
    case 'group':
      return groupJson(member.group);
    case 'contact':
      return {
        '@odata.type': '#microsoft.graph.orgContact',
        id: member.id,
        displayName: member.address,
        mail: member.address,
      };
  }
}

function filtered<T>(call: GraphCall, items: T[], schema: EntitySchema<T>): T[] {
  const filterText = call.request.url.searchParams.get('$filter');
  if (filterText === null) return items;
  const filter = parseFilter(filterText);
  validateFilter(filter, schema);
  return items.filter((item) => evaluateFilter(filter, schema, item));
}

function notFound(id: string): GraphError {
  return new GraphError(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

/** `/users[/{id|upn}]` */
export function users(call: GraphCall, id: string | undefined): SandboxResponse {
  requirePermission(call, userPermissions, 'directory');
  const select = parseSelect(
    call.request.url.searchParams.get('$select'),
    userSchema.typeName,
    userProperties,
  );
  if (id === undefined) {
    const all = filtered(call, call.state.directory.users(), userSchema);
    return collectionPage(call, all, (u) => applySelect(userJson(u), select), directoryLimits);
  }
  const user = call.state.directory.user(id);
  if (user === undefined) throw notFound(id);
  return jsonResponse(200, applySelect(userJson(user), select));
}

/** `/groups[/{id}[/members|/transitiveMembers[/microsoft.graph.user|group]]]` */
export function groups(call: GraphCall, rest: string[]): SandboxResponse {
  requirePermission(call, groupPermissions, 'directory');
  const [id, relation, cast, ...extra] = rest;
  const directory = call.state.directory;
  if (id === undefined) {
    const all = filtered(call, directory.allGroups(), groupSchema);
    const select = parseSelect(
      call.request.url.searchParams.get('$select'),
      groupSchema.typeName,
      groupProperties,
    );
    return collectionPage(call, all, (g) => applySelect(groupJson(g), select), directoryLimits);
  }
  const group = directory.groupById(id);
  if (group === undefined) throw notFound(id);
  if (relation === undefined) return jsonResponse(200, groupJson(group));
  const kind = relation.toLowerCase();
  if ((kind !== 'members' && kind !== 'transitivemembers') || extra.length > 0) {
    throw new GraphError(400, 'BadRequest', `Unsupported segment '${relation}'.`);
  }
  let members = kind === 'members' ? directory.directMembers(group) : directory.transitiveMembers(group);
  if (cast !== undefined) {
    // An OData cast on a directory relationship is an advanced query: Graph answers it only with
    // `ConsistencyLevel: eventual` and `$count=true`.
    const eventual = call.request.headers.consistencylevel?.toLowerCase() === 'eventual';
    const counted = call.request.url.searchParams.get('$count')?.toLowerCase() === 'true';
    if (!eventual || !counted)
      throw new GraphError(
        400,
        'Request_UnsupportedQuery',
        'Unsupported Query. An OData cast needs the ConsistencyLevel: eventual header and $count=true.',
      );
    const wanted = cast.toLowerCase().replace(/^microsoft\.graph\./, '');
    if (wanted !== 'user' && wanted !== 'group')
      throw new GraphError(400, 'BadRequest', `Unsupported type cast '${cast}'.`);
    members = members.filter((m) => m.kind === wanted);
  }
  return collectionPage(call, members, memberJson, directoryLimits);
}
