// Meetings: what is planned, the standing rooms, planning one. Loaded on first use.
import './meetings.css';
export { MeetingsPage } from './Meetings';
