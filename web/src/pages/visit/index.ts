// The pages of links for people without an account, loaded on first use (with their stylesheet):
// a patient's consultation (/visit/<token>) and a guest's meeting (/join/<token>).
import './visit.css';
export { VisitPage } from './Visit';
export { JoinPage } from './Join';
