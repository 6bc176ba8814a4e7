// The administration space, loaded on first use (with its stylesheet).
import './admin.css';
export { AdminHomePage } from './AdminHome';
export { UsersPage } from './Users';
export { UserPage } from './User';
export { AuditPage } from './Audit';
